"""The local page (GET /) in headless Chromium: a real click creates one token, shown as a QR code that a peer can
load with the command shown beside it, and nothing else does (opening a link, a script's synthetic click); a record
the API refuses tokens for has its buttons off, with the reason.

Chromium is driven through the DevTools protocol over a pipe (tests/e2e/cdp.py): the test types the PIN
into the record's input and clicks its button with real mouse events, then screenshots the page and decodes
the QR code from the pixels. The page runs under its own Content-Security-Policy, so these tests also show that
the policy lets the page work. Without /usr/bin/chromium the tests skip locally and fail in CI
(`apt-get install chromium`).

"Nothing happened" is read from the page's own count of the requests it sent that change something
(`data-changes`, counted as each request starts) and from the backbone's token count: a click's listeners run
before `click()` returns, so both are final when it does; no test waits for time to pass.
"""

from __future__ import annotations

import io
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from nmshd_tokens.config import DEFAULT_BACKBONE_TABLE
from nmshd_tokens.domain.references import parse_reference
from nmshd_tokens_local import seed

from tests.e2e.cdp import CHROMIUM, Browser
from tests.e2e.conftest import Served, clean_env
from tests.e2e.test_serve import request
from tests.prerequisites import require
from tests.support import ROOT

ARTIFACTS = ROOT / "tests" / "artifacts"
COMMAND_TIMEOUT_S = 120  # a safety net: `load` takes 1-3 s


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    require(CHROMIUM.exists(), f"the local page's browser test needs {CHROMIUM}", "apt-get install chromium")
    chromium = Browser(tmp_path / "profile")
    yield chromium
    chromium.close()


def published_tokens(served: Served) -> int:
    """How many tokens the embedded backbone holds: every token created, ephemeral or not, is published there."""
    client = boto3.client(
        "dynamodb",
        endpoint_url=f"http://127.0.0.1:{served.dynamodb_port}",
        region_name="eu-central-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 - dummy credentials for the loopback endpoint
    )
    return int(client.scan(TableName=DEFAULT_BACKBONE_TABLE, Select="COUNT")["Count"])


def _decode_qr(png: bytes) -> list[str]:
    import zxingcpp
    from PIL import Image

    return [str(result.text) for result in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


def changes(browser: Browser) -> int:
    """How many POST and DELETE requests the page has sent since it was opened."""
    return int(browser.evaluate("document.body.dataset.changes"))


def test_clicking_a_record_shows_a_qr_code_that_loads(served: Served, browser: Browser, tmp_path: Path) -> None:
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

    # The command the page shows, run as pasted where the image was saved as token.png.
    (tmp_path / "token.png").write_bytes(screenshot)
    shown = browser.evaluate("document.getElementById('load-command').textContent")
    assert shown.startswith(f"{served.program} load token.png "), shown
    done = subprocess.run(  # noqa: S603 - the page's own line
        ["bash", "-c", shown],  # noqa: S607
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
        cwd=tmp_path,
        env=clean_env(),
        check=False,
    )
    assert done.returncode == 0, f"{shown}\n{done.stderr}"
    assert json.loads(done.stdout)["templateId"] == seed.PIN_TEMPLATE_ID

    result = browser.evaluate("document.getElementById('result').textContent")
    assert "/r/TOK" not in result and "VE9L" not in result  # no reference of another token beside the QR code
    assert changes(browser) == 1  # one token: the QR code's


def test_a_refused_request_shows_the_error_envelope(served: Served, browser: Browser) -> None:
    browser.open(served.base + "/")
    button = f'tr[data-id="{seed.PASSWORD_TEMPLATE_ID}"] button'  # clicked without the template's password
    browser.wait_for(f"document.querySelector({json.dumps(button)}) !== null")
    browser.click(button)
    browser.wait_for("['done', 'failed'].includes(document.body.dataset.state)")
    error = browser.evaluate("document.getElementById('error').textContent")
    assert "HTTP 400 error.runtime.relationshipTemplates.passwordProtectionMustBeInherited" in error


def test_a_peer_templates_buttons_are_off_and_say_why(served: Served, browser: Browser) -> None:
    browser.open(served.base + "/")
    row = f'tr[data-id="{seed.PEER_TEMPLATE_ID}"]'
    browser.wait_for(f"document.querySelector({json.dumps(row)}) !== null")
    buttons = browser.evaluate(
        f"[...document.querySelectorAll({json.dumps(row + ' button')})].map(b => [b.textContent, b.disabled, b.title])"
    )
    assert [name for name, _, _ in buttons] == ["Create QR code", "Keep a token"]
    for _, disabled, title in buttons:
        assert disabled and "cannotCreateTokenForPeerTemplate" in title
    assert "the API refuses tokens for it" in browser.evaluate(f"document.querySelector({json.dumps(row)}).textContent")
    own = f'tr[data-id="{seed.OWN_TEMPLATE_ID}"] button'
    assert browser.evaluate(f"document.querySelector({json.dumps(own)}).disabled") is False

    before = published_tokens(served)
    browser.click(f"{row} button")  # a person's click on a disabled button: nothing
    assert browser.evaluate("document.body.dataset.state || 'idle'") == "idle"
    assert changes(browser) == 0 and published_tokens(served) == before


def test_opening_a_link_creates_no_token(served: Served, browser: Browser) -> None:
    """A link such as /?auto=<id> (which once clicked a record's button on load) only shows the page."""
    before = published_tokens(served)
    browser.open(f"{served.base}/?auto={seed.OWN_TEMPLATE_ID}&password=x")
    browser.wait_for("document.body.dataset.kept !== undefined")  # the page's start-up work is done
    assert browser.evaluate("document.querySelectorAll('#records tbody tr').length") >= 6
    assert browser.evaluate("document.body.dataset.state || 'idle'") == "idle"
    assert changes(browser) == 0
    assert published_tokens(served) == before


def test_only_a_persons_click_creates_a_token(served: Served, browser: Browser) -> None:
    browser.open(served.base + "/")
    button = f'tr[data-id="{seed.OWN_TEMPLATE_ID}"] button'
    browser.wait_for(f"document.querySelector({json.dumps(button)}) !== null")
    before = published_tokens(served)
    browser.evaluate(f"document.querySelector({json.dumps(button)}).click()")  # a script's click: isTrusted false
    assert browser.evaluate("document.body.dataset.state || 'idle'") == "idle"
    assert changes(browser) == 0

    browser.click(button)  # mouse events through the input pipeline, as a person's click
    browser.wait_for("['done', 'failed'].includes(document.body.dataset.state)")
    assert browser.evaluate("document.body.dataset.state") == "done"
    assert changes(browser) == 1
    assert published_tokens(served) == before + 1  # the QR code's token, and only it


def test_a_kept_token_is_listed_with_its_qr_code_and_revoked_by_a_click(served: Served, browser: Browser) -> None:
    browser.open(served.base + "/")
    keep = f'tr[data-id="{seed.OWN_TEMPLATE_ID}"] button.keep'
    browser.wait_for(f"document.querySelector({json.dumps(keep)}) !== null && document.body.dataset.kept === '0'")
    browser.click(keep)
    browser.wait_for("document.body.dataset.kept === '1' || document.body.dataset.state === 'failed'")
    assert browser.evaluate("document.getElementById('error').textContent") == ""
    assert browser.evaluate("document.querySelector('#kept tbody tr img').naturalWidth") > 100
    reference = browser.evaluate("document.querySelector('#kept tbody tr code.reference').textContent")
    token_id = parse_reference(reference).id
    assert browser.evaluate("document.querySelector('#kept tbody tr').dataset.id") == token_id

    screenshot = browser.screenshot()
    (ARTIFACTS / "local-page-kept.png").write_bytes(screenshot)
    assert reference in _decode_qr(screenshot)  # the listed QR code encodes the token's URL reference
    loaded = served.cli("load", reference)
    assert loaded.returncode == 0, loaded.stderr
    assert json.loads(loaded.stdout)["templateId"] == seed.OWN_TEMPLATE_ID

    revoke = f'#kept tr[data-id="{token_id}"] button.revoke'
    sent = changes(browser)
    browser.evaluate(f"document.querySelector({json.dumps(revoke)}).click()")  # a script's click: nothing
    assert changes(browser) == sent
    assert browser.evaluate("document.body.dataset.state") == "done"
    browser.click(revoke)
    browser.wait_for("['revoked', 'failed'].includes(document.body.dataset.state)")
    assert browser.evaluate("document.body.dataset.state") == "revoked"
    assert browser.evaluate("document.body.dataset.kept") == "0"
    assert changes(browser) == sent + 1  # the one DELETE
    gone = served.cli("load", reference)
    assert gone.returncode == 1 and "error.platform.recordNotFound" in gone.stderr


def test_a_peer_token_is_loaded_by_pasting_its_reference_listed_and_deleted(served: Served, browser: Browser) -> None:
    body = {"passwordProtection": {"password": "peer-pw"}}
    status, _, raw = request(served, "POST", f"/api/core/v1/Files/{seed.FILE_ID}/Token", body=body)
    assert status == 201, raw
    token = json.loads(raw)["result"]  # ephemeral: published, not kept here until the page loads it
    browser.open(served.base + "/")
    browser.wait_for("document.body.dataset.peers !== undefined")
    before = int(browser.evaluate("document.body.dataset.peers"))

    browser.evaluate("document.getElementById('peer-load-button').click()")  # a script's click: nothing
    assert changes(browser) == 0
    browser.click("#peer-reference")
    browser.type_text(token["reference"]["url"])
    browser.click("#peer-password")
    browser.type_text("peer-pw")
    browser.click("#peer-load-button")
    browser.wait_for("['loaded', 'failed'].includes(document.body.dataset.state)")
    assert browser.evaluate("document.getElementById('error').textContent") == ""
    assert browser.evaluate("document.body.dataset.peers") == str(before + 1)
    row = f'#peers tr[data-id="{token["id"]}"]'
    content = json.loads(browser.evaluate(f"document.querySelector({json.dumps(row + ' code.content')}).textContent"))
    assert content["fileId"] == seed.FILE_ID
    assert browser.evaluate(f"document.querySelector({json.dumps(row)}).textContent").count("password") == 1
    (ARTIFACTS / "local-page-peer.png").write_bytes(browser.screenshot())

    browser.click(f"{row} button.delete")
    browser.wait_for("['deleted', 'failed'].includes(document.body.dataset.state)")
    assert browser.evaluate("document.body.dataset.peers") == str(before)
    assert changes(browser) == 2  # the POST and the DELETE
    status, _, _ = request(served, "GET", f"/api/core/v1/Tokens/{token['id']}")
    assert status == 404


def test_a_wrong_reference_shows_the_error_envelope(served: Served, browser: Browser) -> None:
    browser.open(served.base + "/")
    browser.wait_for("document.body.dataset.peers !== undefined")
    browser.click("#peer-reference")
    browser.type_text("not a reference")
    browser.click("#peer-load-button")
    browser.wait_for("['loaded', 'failed'].includes(document.body.dataset.state)")
    error = browser.evaluate("document.getElementById('error').textContent")
    assert error == "HTTP 400 error.runtime.validation.invalidPropertyValue: token reference invalid"


def test_a_qr_code_image_fills_in_the_reference(served: Served, browser: Browser, tmp_path: Path) -> None:
    body = {"passwordProtection": {"password": "qr-pw"}}
    status, _, png = request(served, "POST", f"/api/core/v1/Files/{seed.FILE_ID}/Token", body=body, accept="image/png")
    assert status == 201
    image = tmp_path / "token.png"
    image.write_bytes(png)
    browser.open(served.base + "/")
    browser.wait_for("document.body.dataset.peers !== undefined")
    document = browser.send("DOM.getDocument")["root"]["nodeId"]
    node = browser.send("DOM.querySelector", {"nodeId": document, "selector": "#peer-image"})["nodeId"]
    browser.send("DOM.setFileInputFiles", {"nodeId": node, "files": [str(image)]})  # as a person picks a file
    browser.wait_for("['read', 'failed'].includes(document.body.dataset.state)")
    assert browser.evaluate("document.getElementById('error').textContent") == ""
    reference = browser.evaluate("document.getElementById('peer-reference').value")
    assert parse_reference(reference) == parse_reference(_decode_qr(png)[0])
    assert changes(browser) == 0  # reading the image changes nothing

    browser.click("#peer-password")
    browser.type_text("qr-pw")
    browser.click("#peer-load-button")
    browser.wait_for("['loaded', 'failed'].includes(document.body.dataset.state)")
    assert browser.evaluate("document.getElementById('error').textContent") == ""
    token_id = parse_reference(reference).id
    assert browser.evaluate(f"document.querySelector('#peers tr[data-id=\"{token_id}\"]') !== null")


def test_an_image_without_a_qr_code_says_so(served: Served, browser: Browser, tmp_path: Path) -> None:
    image = tmp_path / "blank.png"
    from PIL import Image

    Image.new("L", (64, 64), 255).save(image)
    browser.open(served.base + "/")
    browser.wait_for("document.body.dataset.peers !== undefined")
    document = browser.send("DOM.getDocument")["root"]["nodeId"]
    node = browser.send("DOM.querySelector", {"nodeId": document, "selector": "#peer-image"})["nodeId"]
    browser.send("DOM.setFileInputFiles", {"nodeId": node, "files": [str(image)]})
    browser.wait_for("['read', 'failed'].includes(document.body.dataset.state)")
    error = browser.evaluate("document.getElementById('error').textContent")
    assert error == "HTTP 400 error.runtime.validation.invalidPropertyValue: expected one QR code in the image, found 0"
