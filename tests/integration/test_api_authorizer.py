"""functions/api_authorizer through API Gateway REQUEST authorizer events, with its secret in moto (SPEC §17).

API Gateway caches an authorizer's answer per key value and applies it to every route the key is used on, so each
key's policy is asked for once and then evaluated against every keyed route of template.yaml, as API Gateway does
within the cache TTL; it must decide as a fresh call for that route would. An "Unauthorized" exception is API
Gateway's 401 (gateway response UNAUTHORIZED), a policy that does not allow the route its 403 (ACCESS_DENIED).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from itertools import count
from types import ModuleType
from typing import Any

import pytest
from nmshd_tokens.domain.route_scopes import required_scope
from nmshd_tokens_local.routes import Route

from tests.api_key_matrix import CASES, key_entries, keyed_routes, presented, refusal, strong
from tests.api_key_matrix import KEYS as MATRIX_KEYS
from tests.support import ROOT, FakeContext

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
ARN_PREFIX = "arn:aws:execute-api:eu-central-1:123456789012:abc123/v1/"
HEADER = "X-API-KEY"


KEYS: dict[str, dict[str, Any]] = {
    **MATRIX_KEYS,
    "expiring": {"expiresAt": "2026-12-07T09:30:00Z", "description": "expires after start, before the request"},
}


def configuration(keys: dict[str, dict[str, Any]] = KEYS) -> str:
    return json.dumps({"headerName": HEADER, "keys": key_entries(keys)})


def request_path(route: Route) -> str:
    return route.path.replace("{id}", "TOKa1b2c3d4e5f6g7h8i9")


def authorizer_event(route: Route, headers: dict[str, str]) -> dict[str, Any]:
    """A REST API REQUEST authorizer event as API Gateway sends it."""
    path = request_path(route)
    return {
        "type": "REQUEST",
        "methodArn": f"{ARN_PREFIX}{route.method}{path}",
        "resource": route.path,
        "path": path,
        "httpMethod": route.method,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": {},
        "multiValueQueryStringParameters": {},
        "pathParameters": {"id": "TOKa1b2c3d4e5f6g7h8i9"} if "{id}" in route.path else {},
        "stageVariables": {},
        "requestContext": {
            "resourcePath": route.path,
            "httpMethod": route.method,
            "path": f"/v1{path}",
            "stage": "v1",
            "accountId": "123456789012",
            "apiId": "abc123",
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "identity": {"sourceIp": "203.0.113.10"},
        },
    }


def _matches(pattern: str, arn: str) -> bool:
    """IAM's resource matching: `*` any characters (slashes too), `?` one."""
    regex = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.fullmatch(regex, arn) is not None


def decide(policy: dict[str, Any], method_arn: str) -> int:
    """API Gateway's answer to a cached policy: 200 (the function runs), 403 for an explicit or implicit deny."""
    statements = policy["policyDocument"]["Statement"]
    for effect in ("Deny", "Allow"):
        for statement in statements:
            assert statement["Action"] == "execute-api:Invoke"
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            if statement["Effect"] == effect and any(_matches(pattern, method_arn) for pattern in resources):
                return 403 if effect == "Deny" else 200
    return 403


_module_names = count()


def load_authorizer() -> ModuleType:
    """functions/api_authorizer/app.py as Lambda's init runs it: a fresh module (its own secret reader) each time."""
    name = f"api_authorizer_{next(_module_names)}"
    spec = importlib.util.spec_from_file_location(name, ROOT / "functions" / "api_authorizer" / "app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from moto import mock_aws
    from nmshd_tokens.storage.aws_clients import aws_client

    with mock_aws():
        client = aws_client("secretsmanager", "eu-central-1")
        arn = client.create_secret(Name="nmshd-tokens/api-keys", SecretString=configuration())["ARN"]
        monkeypatch.setenv("API_KEYS_SECRET", arn)
        monkeypatch.setenv("API_KEYS_REFRESH_SECONDS", "60")
        monkeypatch.setenv("API_KEY_HEADER", HEADER)
        yield client


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


Authorizer = Callable[[dict[str, Any], Any], dict[str, Any]]


def authorizer(clock: Clock) -> Authorizer:
    module = load_authorizer()
    handler: Authorizer = module.create_handler(module.keys.get, clock)
    return handler


def status_of(handler: Authorizer, route: Route, headers: dict[str, str]) -> tuple[int, dict[str, Any] | None]:
    """401 for the "Unauthorized" exception, else the policy's decision for `route`, and the policy."""
    try:
        policy = handler(authorizer_event(route, headers), FakeContext())
    except Exception as exc:
        assert str(exc) == "Unauthorized", f"{type(exc).__name__}: {exc}"
        return 401, None
    return decide(policy, f"{ARN_PREFIX}{route.method}{request_path(route)}"), policy


# --- every keyed route x every kind of key -------------------------------------------------------------------


def expected(case: str, scope: str) -> int:
    return refusal(case, scope) or 200


@pytest.mark.parametrize("case", CASES)
def test_every_keyed_route_answers_each_kind_of_key(secrets: Any, monkeypatch: pytest.MonkeyPatch, case: str) -> None:
    monkeypatch.setenv("API_KEYS_REFRESH_SECONDS", "7200")  # the keys read at NOW stay in use
    clock = Clock(NOW)
    handler = authorizer(clock)
    handler(authorizer_event(keyed_routes()[0], {HEADER: strong("admin")}), FakeContext())  # reads the secret
    clock.now = NOW + timedelta(hours=1)  # "expiring" has expired since the keys were read
    routes = keyed_routes()
    assert len(routes) >= 13
    cached: dict[str, Any] = {}
    for route in routes:
        scope = required_scope(route.path)
        assert scope is not None, f"{route.method} {route.path} is keyed but needs no scope"
        key = presented(case, scope, expired_key="expiring")
        headers = {} if key is None else {HEADER: key}
        status, policy = status_of(handler, route, headers)
        assert status == expected(case, scope), (route.method, route.path)
        if policy is not None:  # the answer API Gateway caches for this key, used on every route after
            first = cached.setdefault(key or "", policy)
            assert decide(first, f"{ARN_PREFIX}{route.method}{request_path(route)}") == status, route.path


def test_the_header_name_is_matched_whatever_its_case(secrets: Any) -> None:
    handler = authorizer(Clock(NOW))
    route = next(route for route in keyed_routes() if required_scope(route.path) == "core:files")
    for name in ("x-api-key", "X-Api-Key", "X-API-KEY"):
        assert status_of(handler, route, {name: strong("files")})[0] == 200, name
    assert status_of(handler, route, {"Authorization": strong("files")})[0] == 401


def test_the_policy_names_the_key_and_its_usage_identifier(secrets: Any) -> None:
    handler = authorizer(Clock(NOW))
    route = keyed_routes()[0]
    policy = handler(authorizer_event(route, {HEADER: strong("expiring")}), FakeContext())
    assert policy["principalId"] == "expiring"
    assert policy["context"] == {"apiKeyId": "expiring", "apiKeyExpiresAt": "2026-12-07T09:30:00.000Z"}
    assert policy["usageIdentifierKey"] == hashlib.sha256(strong("expiring").encode()).hexdigest()
    assert strong("expiring") not in json.dumps(policy)


def test_a_key_without_any_covered_route_gets_an_explicit_deny(secrets: Any) -> None:
    handler = authorizer(Clock(NOW))
    policy = handler(authorizer_event(keyed_routes()[0], {HEADER: strong("nothing")}), FakeContext())
    assert policy["policyDocument"]["Statement"] == [
        {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": [f"{ARN_PREFIX}*"]}
    ]


def test_a_scoped_policy_allows_no_route_outside_its_api_stage(secrets: Any) -> None:
    handler = authorizer(Clock(NOW))
    policy = handler(authorizer_event(keyed_routes()[0], {HEADER: strong("files")}), FakeContext())
    for statement in policy["policyDocument"]["Statement"]:
        assert all(resource.startswith(ARN_PREFIX) for resource in statement["Resource"])
    assert decide(policy, f"{ARN_PREFIX}POST/api/v2/Files/FILx/Token") == 200
    assert decide(policy, "arn:aws:execute-api:eu-central-1:123456789012:other/v1/POST/api/v2/Files/FILx/Token") == 403
    assert decide(policy, f"{ARN_PREFIX}GET/api/v2/Tokens/Own") == 403


# --- the secret: rotation, re-reading, refusals ----------------------------------------------------------------


def test_two_keys_are_valid_at_once_during_a_rotation(secrets: Any) -> None:
    rotation = {"old": {"expiresAt": "2026-12-08T00:00:00Z"}, "new": {}}
    secrets.put_secret_value(SecretId="nmshd-tokens/api-keys", SecretString=configuration(rotation))
    clock = Clock(NOW)
    handler = authorizer(clock)
    route = keyed_routes()[0]
    assert status_of(handler, route, {HEADER: strong("old")})[0] == 200
    assert status_of(handler, route, {HEADER: strong("new")})[0] == 200
    clock.now = datetime(2026, 12, 8, 0, 0, 1, tzinfo=UTC)
    assert status_of(handler, route, {HEADER: strong("old")})[0] == 401
    assert status_of(handler, route, {HEADER: strong("new")})[0] == 200


def test_a_change_in_the_secret_applies_after_the_refresh_time(secrets: Any) -> None:
    clock = Clock(NOW)
    handler = authorizer(clock)
    route = keyed_routes()[0]
    assert status_of(handler, route, {HEADER: strong("admin")})[0] == 200
    changed = {name: entry for name, entry in KEYS.items() if name != "admin"} | {"added": {}}
    secrets.put_secret_value(SecretId="nmshd-tokens/api-keys", SecretString=configuration(changed))
    clock.now = NOW + timedelta(seconds=59)
    assert status_of(handler, route, {HEADER: strong("added")})[0] == 401  # the read of the secret is kept
    clock.now = NOW + timedelta(seconds=60)
    assert status_of(handler, route, {HEADER: strong("added")})[0] == 200
    assert status_of(handler, route, {HEADER: strong("admin")})[0] == 401  # removed from the secret


def test_without_a_cache_the_secret_is_still_read_at_most_every_10_seconds(
    secrets: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("API_KEYS_REFRESH_SECONDS", "0")  # ApiKeyCacheSeconds 0: every request calls the authorizer
    clock = Clock(NOW)
    handler = authorizer(clock)
    route = keyed_routes()[0]
    assert status_of(handler, route, {HEADER: strong("admin")})[0] == 200
    secrets.put_secret_value(SecretId="nmshd-tokens/api-keys", SecretString=configuration({"added": {}}))
    clock.now = NOW + timedelta(seconds=9)
    assert status_of(handler, route, {HEADER: strong("admin")})[0] == 200
    clock.now = NOW + timedelta(seconds=10)
    assert status_of(handler, route, {HEADER: strong("admin")})[0] == 401
    assert status_of(handler, route, {HEADER: strong("added")})[0] == 200


def test_an_unreadable_secret_keeps_the_keys_read_before(secrets: Any) -> None:
    clock = Clock(NOW)
    handler = authorizer(clock)
    route = keyed_routes()[0]
    assert status_of(handler, route, {HEADER: strong("admin")})[0] == 200
    secrets.delete_secret(SecretId="nmshd-tokens/api-keys", ForceDeleteWithoutRecovery=True)
    clock.now = NOW + timedelta(minutes=5)
    assert status_of(handler, route, {HEADER: strong("admin")})[0] == 200


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        (configuration({"a": {}, "b": {"key": strong("a")}}), "Duplicate API keys found in configuration."),
        (configuration({"a": {"enabled": False}}), "No valid API keys found in configuration."),
        (configuration({"a": {"key": "short"}}), "The API keys with the following key(s) does not meet"),
        ("not json", "the secret is not JSON"),
        (json.dumps({"headerName": "X-Token", "keys": {"a": {"key": strong("a")}}}), "headerName X-Token is not"),
    ],
)
def test_a_refused_secret_fails_the_authorizer_with_the_connector_message(
    secrets: Any, caplog: pytest.LogCaptureFixture, secret: str, message: str
) -> None:
    """Not a 401: the authorizer fails, which API Gateway answers 500 (AUTHORIZER_FAILURE), and logs why."""
    secrets.put_secret_value(SecretId="nmshd-tokens/api-keys", SecretString=secret)
    handler = authorizer(Clock(NOW))
    with pytest.raises(Exception) as failed:
        handler(authorizer_event(keyed_routes()[0], {HEADER: strong("a")}), FakeContext())
    assert str(failed.value) != "Unauthorized"
    assert message in str(failed.value)
    assert message in caplog.text
    assert strong("a") not in caplog.text


def test_a_missing_secret_fails_the_authorizer(secrets: Any) -> None:
    secrets.delete_secret(SecretId="nmshd-tokens/api-keys", ForceDeleteWithoutRecovery=True)
    handler = authorizer(Clock(NOW))
    with pytest.raises(Exception) as failed:
        handler(authorizer_event(keyed_routes()[0], {HEADER: strong("admin")}), FakeContext())
    assert "API_KEYS_SECRET: cannot read the secret (ResourceNotFoundException)" in str(failed.value)


# --- the sample events ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "principal"), [("api_authorizer", "demo"), ("api_authorizer_unknown_key", None)])
def test_the_sample_events(secrets: Any, name: str, principal: str | None) -> None:
    from deployment.local_aws import DEMO_API_KEYS

    secrets.put_secret_value(SecretId="nmshd-tokens/api-keys", SecretString=json.dumps(DEMO_API_KEYS))
    event = json.loads((ROOT / "events" / f"{name}.json").read_text(encoding="utf-8"))
    handler = authorizer(Clock(NOW))
    if principal is None:
        with pytest.raises(Exception, match="^Unauthorized$"):
            handler(event, FakeContext())
        return
    policy = handler(event, FakeContext())
    assert policy["principalId"] == principal
    assert decide(policy, event["methodArn"]) == 200
    stage = event["methodArn"].split("/POST/")[0]
    assert decide(policy, f"{stage}/GET/api/core/v1/Tokens/Own") == 200  # core:* : every core route
    assert decide(policy, f"{stage}/GET/Monitoring/Version") == 403
