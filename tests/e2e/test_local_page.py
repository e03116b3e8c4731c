"""The local page (GET /) in headless Chromium: a real click creates a token QR code that a peer can load.

Chromium is driven through the DevTools protocol over a pipe (tests/e2e/cdp.py): the test types the PIN
into the record's input and clicks its button with real mouse events, then screenshots the page and decodes
the QR code from the pixels. Skipped (loudly) where /usr/bin/chromium is missing: `apt-get install chromium`.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from nmshd_tokens.domain.references import parse_reference
from nmshd_tokens.local import seed

from tests.e2e.cdp import CHROMIUM, Browser
from tests.e2e.conftest import Served
from tests.support import ROOT

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"SKIPPED LOUDLY: {CHROMIUM} is missing, so the local page is untested; `apt-get install chromium`",
)
ARTIFACTS = ROOT / "tests" / "artifacts"


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    chromium = Browser(tmp_path / "profile")
    yield chromium
    chromium.close()


def _decode_qr(png: bytes) -> list[str]:
    import zxingcpp
    from PIL import Image

    return [str(result.text) for result in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


def test_clicking_a_record_shows_a_qr_code_that_loads(served: Served, browser: Browser) -> None:
    browser.open(served.base + "/")
    row = f'tr[data-id="{seed.PIN_TEMPLATE_ID}"]'
    browser.wait_for(f"document.querySelector({json.dumps(row)}) !== null")
    assert browser.evaluate("document.querySelectorAll('#records tbody tr').length") >= 6

    browser.click(f"{row} input[type=password]")
    browser.type_text(seed.DEMO_PIN)
    browser.click(f"{row} button")
    browser.wait_for("['done', 'failed'].includes(document.body.dataset.state)")
    assert browser.evaluate("document.getElementById('error').textContent") == ""
    assert browser.evaluate("document.body.dataset.state") == "done"
    assert browser.evaluate("document.getElementById('qr').naturalWidth") > 100

    screenshot = browser.screenshot()
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "local-page.png").write_bytes(screenshot)
    texts = _decode_qr(screenshot)
    assert len(texts) == 1, f"expected one QR code in the screenshot, found {len(texts)}"
    reference = parse_reference(texts[0])
    assert reference.backbone_base_url == f"{served.base}/backbone"
    assert reference.password_protection is not None
    assert reference.password_protection.password_type == "pin4"

    done = served.cli("load", texts[0], "--password", seed.DEMO_PIN)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["templateId"] == seed.PIN_TEMPLATE_ID

    shown = browser.evaluate("document.getElementById('reference-url').textContent")
    assert parse_reference(shown).id != reference.id  # the JSON call made a second token for the same record


def test_a_refused_request_shows_the_error_envelope(served: Served, browser: Browser) -> None:
    browser.open(f"{served.base}/?auto={seed.PEER_TEMPLATE_ID}")
    browser.wait_for("['done', 'failed'].includes(document.body.dataset.state)")
    error = browser.evaluate("document.getElementById('error').textContent")
    assert "HTTP 400 error.runtime.relationshipTemplates.cannotCreateTokenForPeerTemplate" in error
