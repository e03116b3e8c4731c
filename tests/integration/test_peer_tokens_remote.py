"""POST /{v}/Tokens/Peer in remote mode: tokens the upstream transport library creates on the stand-in Backbone,
loaded by the real handler as the service's signed-in device, with their content intact (SPEC §14)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from nmshd_tokens.domain.clock import format_timestamp
from nmshd_tokens.domain.crypto import generate_key
from nmshd_tokens.domain.encoding import b64url_encode
from nmshd_tokens.domain.references import Reference
from nmshd_tokens_local.standin_backbone import StandinBackbone, StandinDevice

from tests.support import V7, FakeClock, Functions, api_event, json_body
from tests.upstream_node import UpstreamClient, device_json, running_upstream, standin_beside_upstream

pytestmark = pytest.mark.upstream

CONTENTS: list[dict[str, Any]] = [
    {"@type": "TokenContentFile", "fileId": "FILpeerFile000000001", "secretKey": {"key": "", "alg": 3}},
    {"plain": "object", "nested": {"list": [1, "two", None, True]}, "unicode": "äß€"},
]


@pytest.fixture(scope="module")
def upstream() -> Iterator[UpstreamClient]:
    yield from running_upstream("UPSTREAM PEER-TOKEN CHECK")


@pytest.fixture
def standin(aws: Any, upstream: UpstreamClient, clock: FakeClock) -> Iterator[StandinBackbone]:
    yield from standin_beside_upstream(aws, upstream, clock)


@pytest.fixture
def remote_mode(functions: Functions, standin: StandinBackbone) -> Functions:
    return functions.against(standin)


def send(upstream: UpstreamClient, device: StandinDevice, content: dict[str, Any], **options: Any) -> dict[str, Any]:
    """A token the upstream library's TokenController.sendToken creates, as another Connector would."""
    sent: dict[str, Any] = upstream.result(
        "sendToken",
        device=device_json(device),
        content=content,
        expiresAt=format_timestamp(datetime.now(UTC) + timedelta(days=1)),
        ephemeral=True,
        **options,
    )
    return sent


def load(functions: Functions, body: dict[str, Any], prefix: str = V7) -> dict[str, Any]:
    return functions.invoke("peer_token", api_event(f"{prefix}/Tokens/Peer", None, body=body))


def file_content() -> dict[str, Any]:
    return {**CONTENTS[0], "secretKey": {"key": b64url_encode(generate_key()), "alg": 3}}


@pytest.mark.parametrize("content", [file_content(), CONTENTS[1]], ids=["typed", "plain"])
def test_a_token_the_upstream_library_sends_loads_with_its_content_intact(
    remote_mode: Functions, standin: StandinBackbone, upstream: UpstreamClient, content: dict[str, Any]
) -> None:
    other = standin.add_device()
    sent = send(upstream, other, content)
    for form in ("url", "truncated"):
        response = load(remote_mode, {"reference": sent["reference"][form], "ephemeral": True})
        assert response["statusCode"] == 201, response["body"]
        dto = json_body(response)["result"]
        assert dto["content"] == sent["content"]  # what upstream's own loader reads: json-equal
        assert (dto["id"], dto["isOwn"], dto["createdBy"], dto["createdByDevice"]) == (
            sent["id"],
            False,
            other.address,
            other.device_id,
        )
        assert (dto["createdAt"], dto["expiresAt"]) == (sent["createdAt"], sent["expiresAt"])
    gets = [call for call in standin.calls if call.method == "GET" and call.path.startswith("/api/v2/Tokens/")]
    assert [call.bearer for call in gets] == ["valid", "valid"]  # signed in as our device, as upstream loads
    assert {call.caller for call in gets} == {standin.device.address}


def test_a_protected_token_personalised_for_us_loads_signed_in_and_is_kept(
    remote_mode: Functions, standin: StandinBackbone, upstream: UpstreamClient
) -> None:
    other = standin.add_device()
    content = file_content()
    sent = send(
        upstream,
        other,
        content,
        forIdentity=standin.device.address,
        passwordProtection={"password": "1234", "passwordType": "pin4", "passwordLocationIndicator": 2},
    )
    reference = sent["reference"]["url"]
    wrong = load(remote_mode, {"reference": reference, "password": "0000"})
    assert (wrong["statusCode"], json_body(wrong)["error"]["code"]) == (404, "error.runtime.recordNotFound")
    assert standin.tokens[sent["id"]].failed_attempts == 1
    response = load(remote_mode, {"reference": reference, "password": "1234"})
    assert response["statusCode"] == 201, response["body"]
    dto = json_body(response)["result"]
    assert dto["content"] == content and dto["forIdentity"] == standin.device.address
    assert dto["passwordProtection"] == {
        "password": "1234",
        "passwordIsPin": True,
        "passwordLocationIndicator": "Letter",
    }
    calls = len(standin.calls)
    read = remote_mode.invoke("token_read", api_event(f"{V7}/Tokens/{{id}}", sent["id"], method="GET"))
    assert json_body(read)["result"] == dto
    listed = remote_mode.invoke("token_read", api_event(f"{V7}/Tokens/Peer", None, method="GET"))
    assert [token["id"] for token in json_body(listed)["result"]] == [sent["id"]]
    assert remote_mode.container.backbone.exists(sent["id"]) is False  # kept, but another identity's token
    deleted = remote_mode.invoke("token_revoke", api_event(f"{V7}/Tokens/{{id}}", sent["id"], method="DELETE"))
    assert deleted["statusCode"] == 204
    assert len(standin.calls) == calls and sent["id"] in standin.tokens  # the Backbone was not asked


def test_the_backbones_404_and_lock_come_through(
    remote_mode: Functions, standin: StandinBackbone, upstream: UpstreamClient
) -> None:
    unknown = Reference("TOKunknown0000000000", generate_key(), standin.base_url)
    missing = json_body(load(remote_mode, {"reference": unknown.url}))["error"]
    assert missing["code"] == "error.runtime.recordNotFound"
    assert missing["message"].startswith("Token not found. Make sure the ID exists")
    sent = send(
        upstream, standin.add_device(), file_content(), passwordProtection={"password": "pw", "passwordType": "pw"}
    )
    standin.tokens[sent["id"]].failed_attempts = 99
    for password in ("wrong", "pw"):
        response = load(remote_mode, {"reference": sent["reference"]["truncated"], "password": password})
        assert response["statusCode"] == 400
        assert json_body(response)["error"] == {
            **json_body(response)["error"],
            "code": "error.platform.token.tooManyFailedPasswordAttempts",
            "message": "Too many wrong password attempts, the token is locked.",
        }


def test_a_token_too_large_to_keep_is_refused_clearly_and_loads_ephemeral(
    remote_mode: Functions, standin: StandinBackbone, upstream: UpstreamClient
) -> None:
    """A record is one DynamoDB item (400 KB): a larger content is a 400 saying so, never a 5xx."""
    content = {"big": "x" * 300_000}
    sent = send(upstream, standin.add_device(), content)
    kept = load(remote_mode, {"reference": sent["reference"]["url"]})
    assert kept["statusCode"] == 400
    error = json_body(kept)["error"]
    assert error["code"] == "error.connector.validation.tokenContentTooLarge"
    assert error["message"] == (
        "The token's content is 300010 bytes: too large to keep here (at most 262144 bytes). "
        'Load it with "ephemeral": true.'
    )
    answered = load(remote_mode, {"reference": sent["reference"]["url"], "ephemeral": True})
    assert answered["statusCode"] == 201 and json_body(answered)["result"]["content"] == content
