"""`nmshd-tokens serve --backbone standin`: remote mode end to end against the local stand-in Backbone."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from nmshd_tokens.domain.references import parse_reference
from nmshd_tokens_local import seed

from tests.e2e.conftest import Served, start_serve
from tests.e2e.test_serve import FILE_PATH, TEMPLATE_PATH, create_json, load, request
from tests.support import decode_qr


@pytest.fixture(scope="module")
def standin_served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    server = start_serve(tmp_path_factory.mktemp("standin"), "--backbone", "standin")
    yield server
    assert server.stop(signal.SIGINT) == 0, server.output


def test_tokens_are_published_to_the_standin_and_load_from_it(standin_served: Served, tmp_path: Path) -> None:
    assert "stand-in Backbone on http://127.0.0.1:" in standin_served.output
    status, _, png = request(standin_served, "POST", FILE_PATH.format(seed.FILE_ID), accept="image/png")
    assert status == 201
    reference = parse_reference(decode_qr(png))
    assert reference.backbone_base_url is not None
    assert reference.backbone_base_url != f"{standin_served.base}/backbone"  # the stand-in, not the embedded one
    image = tmp_path / "token.png"
    image.write_bytes(png)
    code, content, _ = load(standin_served, str(image))
    assert code == 0 and content["fileId"] == seed.FILE_ID


def test_password_template_token_in_remote_mode(standin_served: Served) -> None:
    body = {"passwordProtection": {"password": seed.DEMO_PASSWORD}, "ephemeral": False}
    token = create_json(standin_served, TEMPLATE_PATH.format(seed.PASSWORD_TEMPLATE_ID), body)
    assert token["createdBy"] in standin_served.output  # the stand-in device's identity
    code, content, _ = load(standin_served, token["reference"]["url"], "--password", seed.DEMO_PASSWORD)
    assert code == 0 and content["templateId"] == seed.PASSWORD_TEMPLATE_ID
    wrong, _, message = load(standin_served, token["reference"]["url"], "--password", "wrong")
    assert wrong == 1 and "error.platform.recordNotFound" in message
