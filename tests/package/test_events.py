"""Every sample in events/ replayed through `make invoke`'s machinery against the built package.

Each event file needs one line in EXPECTED: the function that receives it and what its answer must be. A file
without a line fails (so does a line without a file). The functions run as built (.aws-sam/build, the layer's
x86_64 twin) in a fresh Python 3.13 each, against a fresh moto server seeded with the events' demo records, as
`make invoke` does (so a revocation in one event cannot change another's answer).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from deployment.lambda_emulator import Invocation, built_function, invoke
from deployment.local_aws import (
    DEMO_API_KEY,
    DEMO_API_KEYS_SECRET_ARN,
    DEMO_FILE_ID,
    DEMO_KEPT_TOKEN_ID,
    DEMO_PEER_ADDRESS,
    DEMO_PEER_TOKEN_ID,
    DEMO_TEMPLATE_ID,
    DEMO_TOKEN_ID,
    LocalAws,
)
from deployment.template_values import Stack
from tests.support import ROOT, decode_qr

EVENTS = ROOT / "events"
# The API id that the local stack and the sample events' Host share; references point at its backbone.
BACKBONE = "https://a1b2c3d4e5.execute-api.eu-central-1.amazonaws.com/v1/backbone"
URL_REFERENCE = re.compile(r"(?P<base>https://[^#]+)/r/(?P<id>TOK[A-Za-z0-9]{17})#[A-Za-z0-9_-]+")
# Direct commands have no request to derive the backbone URL from: the stack must be given one.
WITH_BACKBONE_URL = {"BackboneBaseUrl": BACKBONE}
# The authorizer reads the demo API keys' secret that the local AWS holds.
WITH_API_KEYS = {"ApiKeysSecretArn": DEMO_API_KEYS_SECRET_ARN}
API_STAGE_ARN = "arn:aws:execute-api:eu-central-1:123456789012:a1b2c3d4e5/v1/"


@dataclass
class Replay:
    """One event's invocation, and what a check may use: the local AWS and further invocations."""

    aws: LocalAws
    stack: Stack
    invocation: Invocation

    def invoke(self, function: str, event: Any) -> Invocation:
        return invoke(built_function(function, stack=self.stack), event, self.aws.endpoint)

    def backbone_get(self, token_id: str) -> dict[str, Any]:
        """The built backbone function's answer to a peer's GET of the token (the backbone sample, for that id)."""
        event = json.loads((EVENTS / "backbone_get_token.json").read_text(encoding="utf-8"))
        event["path"] = event["path"].replace(DEMO_TOKEN_ID, token_id)
        event["requestContext"]["path"] = event["requestContext"]["path"].replace(DEMO_TOKEN_ID, token_id)
        event["pathParameters"]["id"] = token_id
        answer = self.invoke("BackboneTokenFunction", event)
        assert answer.exit_code == 0, answer.logs
        response: dict[str, Any] = answer.result
        return response

    def peer_loads(self, token_id: str) -> None:
        """The token is published: the built backbone function serves it."""
        response = self.backbone_get(token_id)
        assert response["statusCode"] == 200, response["body"]
        assert json.loads(response["body"])["result"]["id"] == token_id


Check = Callable[[Replay], None]


@dataclass(frozen=True)
class Expected:
    function: str
    check: Check
    parameters: dict[str, str] = field(default_factory=dict)  # template parameter overrides


# --- what an answer must be ------------------------------------------------------------------------------


def header(response: dict[str, Any], name: str) -> str:
    headers = {key.lower(): value for key, value in (response.get("headers") or {}).items()}
    multi = {key.lower(): values[0] for key, values in (response.get("multiValueHeaders") or {}).items() if values}
    return str(headers.get(name.lower(), multi.get(name.lower(), "")))


def referenced_token(reference_url: str) -> str:
    """The token id of a URL reference to the local stack's backbone."""
    match = URL_REFERENCE.fullmatch(reference_url)
    assert match, f"not a URL reference: {reference_url[:60]}…"
    assert match["base"] == BACKBONE
    return match["id"]


def check_dto(replay: Replay, dto: dict[str, Any], content: dict[str, str], kept: bool, core_v1: bool = False) -> None:
    assert dto["id"].startswith("TOK") and dto["isEphemeral"] is (not kept)
    assert {key: dto["content"][key] for key in content} == content
    assert referenced_token(dto["reference"]["url"]) == dto["id"]
    assert ("truncatedReference" in dto) is (not core_v1)  # Connector 7 dropped it
    replay.peer_loads(dto["id"])


def api(status: int, content_type: str, then: Callable[[Replay, dict[str, Any]], None] | None = None) -> Check:
    """An API Gateway proxy response with this status and content type."""

    def check(replay: Replay) -> None:
        assert replay.invocation.exit_code == 0, replay.invocation.logs
        response = replay.invocation.result
        assert response["statusCode"] == status, response.get("body")
        assert header(response, "Content-Type").startswith(content_type)
        if then is not None:
            then(replay, response)

    return check


def token_json(
    content: dict[str, str], *, kept: bool, expires_at: str | None = None, status: int = 201, core_v1: bool = False
) -> Check:
    def then(replay: Replay, response: dict[str, Any]) -> None:
        dto = json.loads(response["body"])["result"]
        check_dto(replay, dto, content, kept, core_v1)
        if expires_at is not None:
            assert dto["expiresAt"] == expires_at

    return api(status, "application/json", then)


def token_png(status: int = 201, token_id: str | None = None) -> Check:
    """A QR code PNG whose reference's token the backbone serves (and is `token_id`, when given)."""

    def then(replay: Replay, response: dict[str, Any]) -> None:
        assert response["isBase64Encoded"] is True
        referenced = referenced_token(decode_qr(base64.b64decode(response["body"])))
        assert token_id in (None, referenced)
        replay.peer_loads(referenced)

    return api(status, "image/png", then)


def token_list(ids: list[str]) -> Check:
    def then(replay: Replay, response: dict[str, Any]) -> None:
        assert [dto["id"] for dto in json.loads(response["body"])["result"]] == ids

    return api(200, "application/json", then)


def revoked(token_id: str) -> Check:
    """204 without a body; then the token's record is gone and the backbone no longer serves it."""

    def check(replay: Replay) -> None:
        assert replay.invocation.exit_code == 0, replay.invocation.logs
        assert replay.invocation.result["statusCode"] == 204
        assert not replay.invocation.result.get("body")
        event = json.loads((EVENTS / "token_get_json.json").read_text(encoding="utf-8"))
        assert replay.invoke("TokenReadFunction", event).result["statusCode"] == 404
        assert replay.backbone_get(token_id)["statusCode"] == 404

    return check


def peer_token_loaded(token_id: str, created_by: str, content: dict[str, str]) -> Check:
    """201: the peer's token with its decrypted content, isOwn false; then kept: GET …/Tokens/Peer lists it."""

    def then(replay: Replay, response: dict[str, Any]) -> None:
        dto = json.loads(response["body"])["result"]
        assert (dto["id"], dto["isOwn"], dto["createdBy"], dto["isEphemeral"]) == (token_id, False, created_by, False)
        assert {key: dto["content"][key] for key in content} == content
        assert referenced_token(dto["reference"]["url"]) == token_id
        event = json.loads((EVENTS / "tokens_peer.json").read_text(encoding="utf-8"))
        listed = replay.invoke("TokenReadFunction", event).result
        assert [token["id"] for token in json.loads(listed["body"])["result"]] == [token_id]

    return api(201, "application/json", then)


def method_not_allowed(allowed: str) -> Check:
    def then(replay: Replay, response: dict[str, Any]) -> None:
        assert json.loads(response["body"])["error"]["code"] == "error.connector.http.methodNotAllowed"
        assert header(response, "Allow") == allowed

    return api(405, "application/json", then)


def health() -> Check:
    def then(replay: Replay, response: dict[str, Any]) -> None:
        assert json.loads(response["body"])["isHealthy"] is True

    return api(200, "application/json", then)


def version() -> Check:
    def then(replay: Replay, response: dict[str, Any]) -> None:
        assert "version" in json.loads(response["body"])

    return api(200, "application/json", then)


def error_envelope(status: int, code: str) -> Check:
    def then(replay: Replay, response: dict[str, Any]) -> None:
        assert json.loads(response["body"])["error"]["code"] == code

    return api(status, "application/json", then)


def peer_token(token_id: str) -> Check:
    def then(replay: Replay, response: dict[str, Any]) -> None:
        assert json.loads(response["body"])["result"]["id"] == token_id

    return api(200, "application/json", then)


def open_in_app_page() -> Check:
    def then(replay: Replay, response: dict[str, Any]) -> None:
        assert "<html" in response["body"].lower()

    return api(200, "text/html", then)


def command(content: dict[str, str], *, kept: bool, qr: bool) -> Check:
    """A direct invocation's `{"result": TokenDTO}`, with `qrCodePng` that decodes to the reference when asked."""

    def check(replay: Replay) -> None:
        assert replay.invocation.exit_code == 0, replay.invocation.logs
        answer = replay.invocation.result
        check_dto(replay, answer["result"], content, kept)
        assert ("qrCodePng" in answer) is qr
        if qr:
            assert decode_qr(base64.b64decode(answer["qrCodePng"])) == answer["result"]["reference"]["url"]

    return check


def batch(outputs: int) -> Check:
    """No failed message; `outputs` objects in the bucket (each PNG decodes to its JSON's reference); a second
    delivery of the same batch is a duplicate: it fails nothing and writes nothing new."""

    def check(replay: Replay) -> None:
        assert replay.invocation.exit_code == 0, replay.invocation.logs
        assert replay.invocation.result == {"batchItemFailures": []}
        first = bucket_objects(replay.aws)
        assert len(first) == outputs, sorted(first)
        for key, body in first.items():
            if key.endswith(".json"):
                dto = json.loads(body)
                assert referenced_token(dto["reference"]["url"]) == Path(key).stem
                png = first.get(key.removesuffix(".json") + ".png")
                if png is not None:
                    assert decode_qr(png) == dto["reference"]["url"]
        event = json.loads((EVENTS / "token_batch_sqs.json").read_text(encoding="utf-8"))
        again = replay.invoke("TokenBatchFunction", event)
        assert again.exit_code == 0 and again.result == {"batchItemFailures": []}, again.logs
        assert bucket_objects(replay.aws) == first

    return check


def allowed(routes: list[str], denied: list[str]) -> Check:
    """An authorizer's policy for the demo key (scopes core:*) that allows `routes` and no route of `denied`
    (METHOD/path under the sample events' API and stage), with the key's SHA-256 as the usage identifier."""

    def decision(statements: list[dict[str, Any]], route: str) -> bool:
        arn = API_STAGE_ARN + route
        matching = [
            statement["Effect"]
            for statement in statements
            if any(re.fullmatch(re.escape(pattern).replace(r"\*", ".*"), arn) for pattern in statement["Resource"])
        ]
        return "Allow" in matching and "Deny" not in matching

    def check(replay: Replay) -> None:
        assert replay.invocation.exit_code == 0, replay.invocation.logs
        answer = replay.invocation.result
        assert answer["principalId"] == "demo"
        assert answer["usageIdentifierKey"] == hashlib.sha256(DEMO_API_KEY.encode()).hexdigest()
        statements = answer["policyDocument"]["Statement"]
        assert all(decision(statements, route) for route in routes), statements
        assert not any(decision(statements, route) for route in denied), statements
        assert DEMO_API_KEY not in replay.invocation.logs

    return check


def unhandled_error(error_type: str, message: str | None = None) -> Check:
    def check(replay: Replay) -> None:
        assert replay.invocation.exit_code != 0
        assert replay.invocation.result["errorType"] == error_type, replay.invocation.result
        if message is not None:
            assert replay.invocation.result["errorMessage"] == message

    return check


def bucket_objects(aws: LocalAws) -> dict[str, bytes]:
    s3 = aws.client("s3")
    (bucket,) = aws.stack.resources_of_type("AWS::S3::Bucket").values()
    listed = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    return {item["Key"]: s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read() for item in listed}


FILE = {"@type": "TokenContentFile", "fileId": DEMO_FILE_ID}
TEMPLATE = {"@type": "TokenContentRelationshipTemplate", "templateId": DEMO_TEMPLATE_ID}
KEPT_UNTIL = "2099-01-01T00:00:00.000Z"

# event file → the function it is for, and what the answer must be.
EXPECTED: dict[str, Expected] = {
    "file_token_json.json": Expected("FileTokenFunction", token_json(FILE, kept=True, expires_at=KEPT_UNTIL)),
    "file_token_json_core_v1.json": Expected("FileTokenFunction", token_json(FILE, kept=True, core_v1=True)),
    "file_token_png.json": Expected("FileTokenFunction", token_png()),
    "template_token_json.json": Expected("TemplateTokenFunction", token_json(TEMPLATE, kept=True)),
    "template_token_png.json": Expected("TemplateTokenFunction", token_png()),
    "own_token_json.json": Expected(
        "OwnTokenFunction",
        token_json({"greeting": "Hello from the own token sample"}, kept=True, expires_at=KEPT_UNTIL, core_v1=True),
    ),
    "token_get_json.json": Expected("TokenReadFunction", token_json(FILE, kept=True, status=200, core_v1=True)),
    "token_get_png.json": Expected("TokenReadFunction", token_png(200, DEMO_KEPT_TOKEN_ID)),
    "tokens_own_query.json": Expected("TokenReadFunction", token_list([DEMO_KEPT_TOKEN_ID])),
    "tokens_peer.json": Expected("TokenReadFunction", token_list([])),
    "token_revoke.json": Expected("TokenRevokeFunction", revoked(DEMO_KEPT_TOKEN_ID)),
    "token_revoke_v2.json": Expected("TokenReadFunction", method_not_allowed("GET")),  # revoking is Connector 7's
    "token_load_peer.json": Expected(
        "PeerTokenFunction", peer_token_loaded(DEMO_PEER_TOKEN_ID, DEMO_PEER_ADDRESS, FILE)
    ),
    "health.json": Expected("ServiceStatusFunction", health()),
    "version.json": Expected("ServiceStatusFunction", version()),
    # The demo token is password-protected: without the password it is "not found", as on the real Backbone.
    "backbone_get_token.json": Expected("BackboneTokenFunction", error_envelope(404, "error.platform.recordNotFound")),
    "backbone_get_token_password.json": Expected("BackboneTokenFunction", peer_token(DEMO_TOKEN_ID)),
    "backbone_r_page.json": Expected("BackboneTokenFunction", open_in_app_page()),
    "file_token_command.json": Expected("FileTokenFunction", command(FILE, kept=True, qr=False), WITH_BACKBONE_URL),
    "file_token_command_qr.json": Expected("FileTokenFunction", command(FILE, kept=False, qr=True), WITH_BACKBONE_URL),
    "template_token_command.json": Expected(
        "TemplateTokenFunction", command(TEMPLATE, kept=True, qr=False), WITH_BACKBONE_URL
    ),
    "template_token_command_qr.json": Expected(
        "TemplateTokenFunction", command(TEMPLATE, kept=False, qr=True), WITH_BACKBONE_URL
    ),
    # Three commands: two QR codes (PNG + JSON each) and one kept token (JSON).
    "token_batch_sqs.json": Expected("TokenBatchFunction", batch(outputs=5)),
    # API Gateway caches the policy for the key: it must allow every route of the key's scopes, not just this one.
    "api_authorizer.json": Expected(
        "ApiAuthorizerFunction",
        allowed(
            [
                f"POST/api/v2/Files/{DEMO_FILE_ID}/Token",
                "GET/api/core/v1/Tokens/Own",
                "POST/api/core/v1/Tokens/Own",
                "DELETE/api/core/v1/Tokens/X",
            ],
            ["GET/Monitoring/Version"],
        ),
        WITH_API_KEYS,
    ),
    # Lambda's error "Unauthorized" is what API Gateway answers 401 (the UNAUTHORIZED gateway response).
    "api_authorizer_unknown_key.json": Expected(
        "ApiAuthorizerFunction", unhandled_error("Unauthorized", "Unauthorized"), WITH_API_KEYS
    ),
}


def event_files() -> list[str]:
    return sorted(path.name for path in EVENTS.glob("*.json"))


def test_every_expectation_has_its_event_file() -> None:
    assert set(EXPECTED) <= set(event_files()), "EXPECTED names event files that do not exist"


@pytest.mark.parametrize("name", event_files())
def test_event(name: str, local_aws: LocalAws, stack: Stack) -> None:
    if name not in EXPECTED:
        pytest.fail(f"events/{name} has no expectation: add a line for it to EXPECTED in {Path(__file__).name}")
    expected = EXPECTED[name]
    if expected.parameters:
        stack = Stack.of(stack.template, expected.parameters, region=stack.region)
    event = json.loads((EVENTS / name).read_text(encoding="utf-8"))
    invocation = invoke(built_function(expected.function, stack=stack), event, local_aws.endpoint)
    expected.check(Replay(local_aws, stack, invocation))


def test_a_command_without_a_backbone_url_is_an_unhandled_error(local_aws: LocalAws, stack: Stack) -> None:
    """At the template's defaults a direct command cannot know the backbone's URL: Lambda reports the error, and so
    does the emulation (a non-zero exit in `make invoke`)."""
    event = json.loads((EVENTS / "file_token_command.json").read_text(encoding="utf-8"))
    invocation = invoke(built_function("FileTokenFunction", stack=stack), event, local_aws.endpoint)
    unhandled_error("ConfigError")(Replay(local_aws, stack, invocation))
    assert "BACKBONE_BASE_URL" in invocation.result["errorMessage"]
