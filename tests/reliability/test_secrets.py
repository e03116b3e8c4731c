"""Secrets never reach logs or error bodies; secret comparisons are constant-time.

Secrets: passwords and PINs, the API key (printed once in the start-up banner by design, SPEC §12), password
hashes (base64 and base64url of the Argon2id hash), references (truncated, URL, URL fragment), token keys and
the Files' secret keys.
"""

from __future__ import annotations

import hashlib
import inspect
import io
import json
import logging
import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import pytest
from nmshd_tokens.domain import algorithms, api_keys
from nmshd_tokens.domain.crypto import derive_password_hash
from nmshd_tokens.domain.encoding import b64_encode, b64url_encode
from nmshd_tokens.domain.errors import ErrorKind
from nmshd_tokens.domain.references import Reference, parse_reference
from nmshd_tokens.storage import embedded_backbone, records_table
from nmshd_tokens_local import http_server as local_server
from nmshd_tokens_local import seed
from nmshd_tokens_local.functions import LocalFunction
from nmshd_tokens_local.gateway import HttpRequest
from nmshd_tokens_local.routes import api_from_template
from nmshd_tokens_local.tables import load_template

from tests.reliability.conftest import API_KEY, Served, call
from tests.reliability.test_load import dynamodb as dynamodb_client
from tests.support import ROOT, ROUTES, Functions, api_event, future, json_body, png_bytes

PASSWORD = "Zebra-Kettle-93!xq"  # noqa: S105 - test secrets, distinctive so that a match is no accident
TEMPLATE_PASSWORD = "Quartz-Lantern-57#wp"  # noqa: S105
PIN = "90715386"
REFUSED_PASSWORD = "Refused-Secret-44$kz"  # noqa: S105 - sent in requests that fail validation
WRONG_API_KEY = "Wrong-Api-Key-Secret-31"
ENVELOPE_FIELDS = {"code", "message", "id", "time", "docs"}
INTERNALS = re.compile(r"Traceback|File \"|\.py\b|/work/|site-packages|Error\b|Exception\b|line \d+")
KNOWN_MESSAGES = {kind.value.message for kind in ErrorKind} - {""}


def reference_secrets(reference: Reference) -> set[str]:
    secrets = {reference.truncated, reference.url, reference.url.split("#", 1)[1], b64url_encode(reference.key)}
    return secrets


def hash_secrets(password: str, reference: Reference) -> set[str]:
    assert reference.password_protection is not None
    digest = derive_password_hash(password, reference.password_protection.salt)
    return {b64_encode(digest), b64url_encode(digest), quote(b64_encode(digest), safe=""), digest.hex()}


def assert_no_secret(text: str, secrets: set[str], where: str) -> None:
    leaked = sorted(secret[:24] + "…" for secret in secrets if secret and secret in text)
    assert not leaked, f"{where} contains secrets: {leaked}"


# --- a whole `serve` run ----------------------------------------------------------------------------------


def _json(raw: bytes) -> Any:
    return json.loads(raw)


def test_a_serve_run_logs_no_secret(serve: Callable[..., Served]) -> None:
    served = serve()
    secrets = {PASSWORD, TEMPLATE_PASSWORD, PIN, REFUSED_PASSWORD, WRONG_API_KEY}
    post_json = {"Content-Type": "application/json", "Accept": "application/json"}
    file_path = f"/api/v2/Files/{seed.FILE_ID}/Token"
    template_path = f"/api/v2/RelationshipTemplates/Own/{seed.OWN_TEMPLATE_ID}/Token"

    references: list[tuple[Reference, str]] = []
    for path, body in [
        (file_path, {"ephemeral": False, "passwordProtection": {"password": PASSWORD}}),
        (
            file_path,
            {"passwordProtection": {"password": PIN, "passwordIsPin": True, "passwordLocationIndicator": "SMS"}},
        ),
        (template_path, {"ephemeral": False, "passwordProtection": {"password": TEMPLATE_PASSWORD}}),
        (file_path, {}),
    ]:
        status, _, raw = call(served, "POST", path, body=json.dumps(body).encode(), headers=post_json)
        assert status == 201, raw
        dto = _json(raw)["result"]
        reference = parse_reference(dto["reference"]["url"])
        password = (body.get("passwordProtection") or {}).get("password", "")
        references.append((reference, password))
        secrets |= reference_secrets(reference) | {dto["truncatedReference"], dto["content"]["secretKey"]["key"]}
    status, _, png = call(
        served,
        "POST",
        file_path,
        body=json.dumps({"passwordProtection": {"password": PASSWORD}}).encode(),
        headers={"Accept": "image/png"},
    )
    assert status == 201

    # Refusals that carry secrets in the request.
    refusals: list[tuple[str, bytes, dict[str, str]]] = [
        (
            file_path,
            json.dumps({"passwordProtection": {"password": REFUSED_PASSWORD, "passwordIsPin": True}}).encode(),
            post_json,
        ),
        (file_path, json.dumps({"passwordProtection": {"password": REFUSED_PASSWORD, "extra": 1}}).encode(), post_json),
        (file_path, ('{"passwordProtection": {"password": "' + REFUSED_PASSWORD + '"').encode(), post_json),
        (file_path, json.dumps({"passwordProtection": {"password": REFUSED_PASSWORD * 60}}).encode(), post_json),
        (
            f"/api/v2/RelationshipTemplates/Own/{seed.PASSWORD_TEMPLATE_ID}/Token",
            json.dumps({"passwordProtection": {"password": REFUSED_PASSWORD}}).encode(),
            post_json,
        ),
    ]
    for path, body, headers in refusals:
        status, _, raw = call(served, "POST", path, body=body, headers=headers)
        assert status == 400, raw
        assert_no_secret(raw.decode(), {REFUSED_PASSWORD}, "an error body")
    status, _, raw = call(served, "POST", file_path, body=b"{}", headers=post_json, key=WRONG_API_KEY)
    assert status == 401 and WRONG_API_KEY.encode() not in raw

    # The peer side: wrong and right hashes in the query string.
    for reference, password in references:
        if reference.password_protection is None:
            assert call(served, "GET", f"/backbone/api/v2/Tokens/{reference.id}", key=None)[0] == 200
            continue
        wrong = b64_encode(derive_password_hash("not it", reference.password_protection.salt))
        right_hashes = hash_secrets(password, reference)
        secrets |= right_hashes | {wrong}
        right = b64_encode(derive_password_hash(password, reference.password_protection.salt))
        for candidate, expected in ((wrong, 404), (right, 200)):
            status, _, raw = call(
                served, "GET", f"/backbone/api/v2/Tokens/{reference.id}?password={quote(candidate, safe='')}", key=None
            )
            assert status == expected, raw
        assert call(served, "GET", f"/backbone/r/{reference.id}", key=None)[0] == 200
    done = served.cli("load", references[0][0].url, "--password", PASSWORD)
    assert done.returncode == 0, done.stderr

    # The Files' own keys, as the records table holds them.
    for item in dynamodb_client(served).scan(TableName="nmshd-tokens-records")["Items"]:
        if "secretKey" in item:
            secrets.add(b64url_encode(bytes(item["secretKey"]["B"])))
            secrets.add(b64_encode(bytes(item["secretKey"]["B"])))

    output = served.output
    banner, marker, after_start = output.partition("ready in")
    assert marker, output[-2000:]
    assert banner.count(API_KEY) >= 1  # SPEC §12: the key is printed once at start-up, on purpose
    assert_no_secret(banner, secrets, "the start-up banner")
    assert_no_secret(after_start, secrets | {API_KEY}, "the serve log")
    assert "/backbone/api/v2/Tokens/" in after_start and "?password" not in after_start  # logged, query stripped
    print(f"\nserve log: {len(after_start.splitlines())} lines after start-up checked against {len(secrets)} secrets")


# --- in-process handler runs -----------------------------------------------------------------------------


@pytest.fixture
def captured(caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[[], str]]:
    """Everything the handlers log: stdout/stderr (Powertools writes JSON there) and the logging records, with
    the service logger at DEBUG and the rest at INFO (the Lambda default)."""
    from nmshd_tokens.observability import logger

    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger=logger.name)
    previous = logger.log_level
    logger.setLevel("DEBUG")
    # Powertools' handler writes to the sys.stdout of whichever test imported it first (a pytest capture that may
    # be closed by now): for this test its records go, with its own JSON formatter, to a buffer instead.
    service = logging.getLogger(logger.name)
    original = service.handlers[:]
    sink = io.StringIO()
    capture = logging.StreamHandler(sink)
    capture.setFormatter(original[0].formatter if original else None)
    service.handlers = [capture]

    def text() -> str:
        out, err = capsys.readouterr()
        return sink.getvalue() + out + err + caplog.text

    yield text
    service.handlers = original
    logger.setLevel(previous)


def assert_envelope_without_internals(response: dict[str, Any], secrets: set[str]) -> None:
    body = response["body"]
    error = json.loads(body)["error"]
    assert set(error) == ENVELOPE_FIELDS
    assert not INTERNALS.search(body), body
    assert_no_secret(body, secrets, "an error body")


def test_handler_runs_log_no_secret(
    functions: Functions,
    make_file: Callable[..., Any],
    make_template: Callable[..., Any],
    captured: Callable[[], str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    file = make_file()
    template = make_template(password=TEMPLATE_PASSWORD)
    secrets = {
        PASSWORD,
        TEMPLATE_PASSWORD,
        PIN,
        REFUSED_PASSWORD,
        b64url_encode(file.secret_key),
        b64url_encode(template.secret_key),
    }
    file_resource, template_resource = ROUTES["file_token"][1], ROUTES["template_token"][1]

    created = [
        functions.invoke(
            "file_token",
            api_event(file_resource, file.id, body={"ephemeral": False, "passwordProtection": {"password": PASSWORD}}),
        ),
        functions.invoke(
            "file_token",
            api_event(file_resource, file.id, body={"passwordProtection": {"password": PIN, "passwordIsPin": True}}),
        ),
        functions.invoke(
            "template_token",
            api_event(template_resource, template.id, body={"passwordProtection": {"password": TEMPLATE_PASSWORD}}),
        ),
    ]
    references = []
    for response, password in zip(created, (PASSWORD, PIN, TEMPLATE_PASSWORD), strict=True):
        assert response["statusCode"] == 201, response
        reference = parse_reference(json_body(response)["result"]["reference"]["truncated"])
        references.append(reference)
        secrets |= reference_secrets(reference) | hash_secrets(password, reference)
    qr = functions.invoke(
        "file_token",
        api_event(file_resource, file.id, accept="image/png", body={"passwordProtection": {"password": PASSWORD}}),
    )
    assert png_bytes(qr).startswith(b"\x89PNG")

    for reference, password in zip(references, (PASSWORD, PIN, TEMPLATE_PASSWORD), strict=True):
        assert reference.password_protection is not None
        for candidate, expected in ((password, 200), ("wrong", 404)):
            digest = b64_encode(derive_password_hash(candidate, reference.password_protection.salt))
            secrets.add(digest)
            event = api_event(ROUTES["backbone_token"][1], reference.id, method="GET", query={"password": digest})
            assert functions.invoke("backbone_token", event)["statusCode"] == expected

    refusals = [
        api_event(
            file_resource, file.id, body={"passwordProtection": {"password": REFUSED_PASSWORD, "passwordIsPin": True}}
        ),
        api_event(file_resource, file.id, raw_body='{"passwordProtection": {"password": "' + REFUSED_PASSWORD),
        api_event(
            file_resource,
            file.id,
            raw_body='{"passwordProtection": {"password": "' + REFUSED_PASSWORD + '", "password": 1}}',
        ),
        api_event(template_resource, template.id, body={"passwordProtection": {"password": REFUSED_PASSWORD}}),
        api_event(file_resource, file.id, body={"forIdentity": REFUSED_PASSWORD}),
    ]
    for event in refusals:
        response = functions.invoke("file_token" if "/Files/" in event["resource"] else "template_token", event)
        assert response["statusCode"] == 400, response
        assert_envelope_without_internals(response, secrets)

    # Unexpected and storage failures whose exceptions carry secrets in their messages.
    def explode(self: Any, record_id: str) -> None:
        raise RuntimeError(f"boom {REFUSED_PASSWORD} {b64url_encode(file.secret_key)}")

    monkeypatch.setattr(records_table.DynamoRecordsRepository, "get_file", explode)
    failed = functions.invoke(
        "file_token", api_event(file_resource, file.id, body={"passwordProtection": {"password": REFUSED_PASSWORD}})
    )
    assert failed["statusCode"] == 500
    assert json_body(failed)["error"]["message"] == "An unexpected error occurred."
    assert_envelope_without_internals(failed, secrets)

    logs = captured()
    assert "unexpected error" in logs and "request refused" in logs  # the logs were captured at all
    assert '"message":"unexpected error"' in logs and '"error_type":"RuntimeError"' in logs  # the JSON lines too
    assert_no_secret(logs, secrets, "the handler logs")


def test_every_error_body_is_a_bare_envelope(functions: Functions, aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Error bodies carry a known message, never an exception's text, a frame or a path."""
    from botocore.exceptions import ClientError

    resource = ROUTES["file_token"][1]
    events = [
        api_event(resource, "FILdoesnotexist00000"),
        api_event(resource, "bad-id"),
        api_event(resource, "FILdoesnotexist00000", raw_body="{nope"),
        api_event(resource, "FILdoesnotexist00000", raw_body="[" * 20_000 + "]" * 20_000),
        api_event(resource, "FILdoesnotexist00000", raw_body='{"x": "' + "a" * 70_000 + '"}'),
        api_event(resource, "FILdoesnotexist00000", accept="text/html"),
        api_event("/api/v2/Files/{id}/Nope", "FILdoesnotexist00000"),
    ]
    bodies = [functions.invoke("file_token", event) for event in events]

    def throttled(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down /work/x.py"}}, "GetItem")

    monkeypatch.setattr(aws, "get_item", throttled)
    bodies.append(functions.invoke("file_token", api_event(resource, "FILabcdefghij0123456")))
    monkeypatch.setattr(aws, "get_item", lambda **_: 1 / 0)
    bodies.append(functions.invoke("file_token", api_event(resource, "FILabcdefghij0123456")))

    assert sorted({response["statusCode"] for response in bodies}) == [400, 404, 406, 413, 500, 503]
    for response in bodies:
        assert_envelope_without_internals(response, set())
        message = json_body(response)["error"]["message"]
        assert message in KNOWN_MESSAGES or message.startswith(
            ("fileId must match", "The request body must not exceed")
        ), message


def test_a_crashing_function_is_a_502_envelope_and_its_message_is_not_logged(functions: Functions) -> None:
    lines: list[str] = []
    api = api_from_template(load_template(), ROOT)
    spec = api.functions["FileTokenFunction"]

    def crash(event: dict[str, Any], context: Any) -> Any:
        raise RuntimeError(f"secret {PASSWORD}")

    functions = {logical_id: LocalFunction(function, crash) for logical_id, function in api.functions.items()}
    local_api = local_server.LocalApi(api, functions, API_KEY, log=lines.append)
    request = HttpRequest("POST", f"/api/v2/Files/{seed.FILE_ID}/Token", [("x-api-key", API_KEY)], b"{}")
    response = local_api.handle(request)
    assert response.status == 502
    assert set(json.loads(response.body)["error"]) == ENVELOPE_FIELDS
    assert PASSWORD.encode() not in response.body and not INTERNALS.search(response.body.decode())
    assert lines and spec.logical_id in lines[0] and "RuntimeError" in lines[0]
    assert_no_secret("\n".join(lines), {PASSWORD}, "the gateway log")


# --- constant-time comparisons ---------------------------------------------------------------------------


def test_the_api_key_check_is_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Local gateway and AWS authorizer share ApiKeys.authenticate: the presented key's SHA-256 is compared with
    every configured key's, with hmac.compare_digest and no early exit."""
    calls: list[tuple[bytes, bytes]] = []
    real = api_keys.hmac.compare_digest

    def spy(left: bytes, right: bytes) -> bool:
        calls.append((left, right))
        return real(left, right)

    monkeypatch.setattr(api_keys.hmac, "compare_digest", spy)
    other = API_KEY + "-2nd"
    keys = api_keys.ApiKeys(
        "X-API-KEY", (*api_keys.ApiKeys.single(API_KEY).keys, api_keys.ApiKey("b", sha(other), None))
    )
    api = api_from_template(load_template(), ROOT)
    local_api = local_server.LocalApi(api, {}, keys, log=lambda _: None)
    path = f"/api/v2/Files/{seed.FILE_ID}/Nope"  # the key is checked before the route, so no function runs
    for key in (WRONG_API_KEY, API_KEY[:-1], API_KEY):
        local_api.handle(HttpRequest("POST", path, [("x-api-key", key)], b"{}"))
    assert calls == [
        pair
        for key in (WRONG_API_KEY, API_KEY[:-1], API_KEY)
        for pair in ((sha(key), sha(API_KEY)), (sha(key), sha(other)))
    ]
    source = inspect.getsource(api_keys.ApiKeys.authenticate)
    assert "compare_digest" in source and "==" not in source and "break" not in source


def sha(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def test_the_backbone_compares_hashes_with_secrets_equal(
    functions: Functions, make_file: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = embedded_backbone.secrets_equal

    def spy(left: bytes, right: bytes) -> bool:
        calls.append((left, right))
        return real(left, right)

    monkeypatch.setattr(embedded_backbone, "secrets_equal", spy)
    created = functions.invoke(
        "file_token",
        api_event(ROUTES["file_token"][1], make_file().id, body={"passwordProtection": {"password": PASSWORD}}),
    )
    reference = parse_reference(json_body(created)["result"]["reference"]["truncated"])
    assert reference.password_protection is not None
    for candidate in ("wrong", PASSWORD):
        digest = derive_password_hash(candidate, reference.password_protection.salt)
        event = api_event(
            ROUTES["backbone_token"][1], reference.id, method="GET", query={"password": b64_encode(digest)}
        )
        functions.invoke("backbone_token", event)
    assert len(calls) == 2 and calls[1][0] == calls[1][1] != calls[0][1]
    assert "secrets_equal(" in inspect.getsource(embedded_backbone.DynamoBackbone._check_password)
    assert "hmac.compare_digest(" in inspect.getsource(algorithms.secrets_equal)


def test_the_template_never_turns_on_event_logging() -> None:
    """Powertools logs the whole event (passwords included) when POWERTOOLS_LOGGER_LOG_EVENT is true."""
    text = (ROOT / "template.yaml").read_text(encoding="utf-8")
    assert "POWERTOOLS_LOGGER_LOG_EVENT" not in text
    assert "log_event=True" not in "".join(
        path.read_text(encoding="utf-8") for path in (ROOT / "functions").glob("*/app.py")
    )


def test_event_logging_stays_off_even_when_the_environment_asks_for_it(
    functions: Functions,
    make_file: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
    captured: Callable[[], str],
) -> None:
    monkeypatch.setenv("POWERTOOLS_LOGGER_LOG_EVENT", "true")
    password = "event-logging-canary-4711"
    body = {"passwordProtection": {"password": password}}
    response = functions.invoke("file_token", api_event(ROUTES["file_token"][1], make_file(future()).id, body=body))
    assert response["statusCode"] == 201
    missing = functions.invoke("file_token", api_event(ROUTES["file_token"][1], "FILdoesnotexist00000", body=body))
    assert missing["statusCode"] == 404
    logs = captured()
    assert "request refused" in logs  # the logs were captured at all
    assert password not in logs


def test_root_debug_logging_never_logs_request_parameters(
    functions: Functions, make_file: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    """AWS_LAMBDA_LOG_LEVEL=DEBUG sets the root logger to DEBUG: botocore must still not log a request's params."""
    caplog.set_level(logging.DEBUG)  # the root logger, as Lambda's runtime sets it
    secret = "debug-root-secret-0815"
    body = {"ephemeral": False, "passwordProtection": {"password": secret}}
    response = functions.invoke("file_token", api_event(ROUTES["file_token"][1], make_file().id, body=body))
    assert response["statusCode"] == 201
    key = json_body(response)["result"]["content"]["secretKey"]["key"]
    libraries = [record for record in caplog.records if record.name.split(".")[0] in ("botocore", "urllib3")]
    assert all(record.levelno >= logging.WARNING for record in libraries), libraries[:3]
    assert secret not in caplog.text and key not in caplog.text
