"""Files and templates only the Connector knows, with references the upstream `@nmshd/core-types` made: their token
QR codes, created in remote mode against the stand-in Backbone, load in the upstream transport library with the
File's or template's own key inside (SPEC §15, §5)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from nmshd_tokens.domain.crypto import generate_key, generate_salt
from nmshd_tokens.domain.encoding import b64_encode, b64url_encode
from nmshd_tokens.domain.files_and_templates import FileRecord, StoredPasswordProtection, TemplateRecord
from nmshd_tokens.domain.ids import new_id
from nmshd_tokens.domain.references import parse_reference
from nmshd_tokens_local.standin_backbone import StandinBackbone
from nmshd_tokens_local.standin_connector import StandinConnector

from tests.support import ROUTES, FakeClock, Functions, api_event, decode_qr, future, png_bytes
from tests.unit.test_upstream_crosscheck import _run_node
from tests.upstream_node import UpstreamClient, running_upstream, standin_beside_upstream

pytestmark = pytest.mark.upstream

KEY = "upstream-connector-key-0123456789"


@pytest.fixture(scope="module")
def upstream() -> Iterator[UpstreamClient]:
    yield from running_upstream("UPSTREAM CONNECTOR READ-THROUGH CHECK")


@pytest.fixture
def standin(aws: Any, upstream: UpstreamClient, clock: FakeClock) -> Iterator[StandinBackbone]:
    yield from standin_beside_upstream(aws, upstream, clock)


@pytest.fixture(params=["7.4.6", "6.36.11"], ids=["connector7", "connector6"])
def connector(request: pytest.FixtureRequest, standin: StandinBackbone) -> Iterator[StandinConnector]:
    with StandinConnector(standin.device.address, api_key=KEY, version=request.param) as connector:
        yield connector


@pytest.fixture
def beside(functions: Functions, standin: StandinBackbone, connector: StandinConnector) -> Functions:
    """Remote mode as the stand-in Backbone's device, reading Files and templates from the stand-in Connector."""
    return functions.against(standin).configured(connector_base_url=connector.base_url, connector_api_key=KEY)


def upstream_truncated(build: dict[str, Any]) -> str:
    """The truncated reference `@nmshd/core-types` writes for these fields (tests/upstream/crosscheck.mjs)."""
    (result,) = _run_node([{"build": build}])
    built = result["built"]
    assert "error" not in built, built
    return str(built["truncated"])


def qr_token(functions: Functions, name: str, record_id: str, body: Any = None) -> str:
    event = api_event(ROUTES[name][1], record_id, body=body or {}, accept="image/png")
    response = functions.invoke(name, event)
    assert response["statusCode"] == 201, response.get("body")
    return decode_qr(png_bytes(response))


def test_a_file_only_the_connector_knows(
    beside: Functions, connector: StandinConnector, upstream: UpstreamClient
) -> None:
    file = FileRecord(new_id("FIL"), generate_key(), future(30).replace(microsecond=0))
    truncated = upstream_truncated({"id": file.id, "backboneBaseUrl": None, "key": b64url_encode(file.secret_key)})
    connector.add(file, truncated=truncated)
    loaded = upstream.result("loadAnonymous", reference=qr_token(beside, "file_token", file.id))
    assert loaded["content"] == {
        "@type": "TokenContentFile",
        "fileId": file.id,
        "secretKey": {"key": b64url_encode(file.secret_key), "alg": 3},
    }


def test_a_pin_protected_template_only_the_connector_knows(
    beside: Functions, connector: StandinConnector, upstream: UpstreamClient
) -> None:
    protection = StoredPasswordProtection("90715", "pin5", generate_salt(), 2)
    template = TemplateRecord(new_id("RLT"), generate_key(), future(30).replace(microsecond=0), True, None, protection)
    shared = {"passwordType": "pin5", "salt": b64_encode(protection.salt), "passwordLocationIndicator": 2}
    build = {"id": template.id, "key": b64url_encode(template.secret_key), "passwordProtection": shared}
    truncated = upstream_truncated(build)
    assert parse_reference(truncated).password_protection is not None
    connector.add(template, truncated=truncated)
    body = {"passwordProtection": {"password": "90715", "passwordIsPin": True, "passwordLocationIndicator": "Letter"}}
    reference = qr_token(beside, "template_token", template.id, body)
    loaded = upstream.result("loadAnonymous", reference=reference, password="90715")
    content = loaded["content"]
    assert (content["@type"], content["templateId"]) == ("TokenContentRelationshipTemplate", template.id)
    assert content["secretKey"] == {"key": b64url_encode(template.secret_key), "alg": 3}
    assert content["passwordProtection"]["passwordType"] == "pin5"
    assert content["passwordProtection"]["salt"] == b64url_encode(protection.salt)
