"""The local API Gateway's key check in-process (SPEC §17), with the clock injected: a key that expires while the
server runs is refused from then on, and a refused request never reaches a function."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from nmshd_tokens.domain.api_keys import parse_api_keys
from nmshd_tokens_local.functions import LocalFunction
from nmshd_tokens_local.gateway import HttpRequest
from nmshd_tokens_local.http_server import LocalApi
from nmshd_tokens_local.routes import api_from_template
from nmshd_tokens_local.tables import load_template

from tests.support import ROOT

START = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
FILE_TOKEN = "/api/core/v1/Files/FILa1b2c3d4e5f6g7h8i9/Token"


def strong(name: str) -> str:
    return f"{name}-KEY-0123456789-abcdefghijklmnop!"


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def local_api(clock: Clock, calls: list[str]) -> LocalApi:
    api = api_from_template(load_template(ROOT / "template.yaml"), ROOT)

    def answer(event: dict[str, Any], context: Any) -> dict[str, Any]:
        calls.append(event["resource"])
        return {"statusCode": 201, "headers": {"Content-Type": "application/json"}, "body": "{}"}

    functions = {logical_id: LocalFunction(spec, answer) for logical_id, spec in api.functions.items()}
    document = {
        "headerName": "X-Token",
        "keys": {
            "soon": {"key": strong("soon"), "expiresAt": "2026-12-07T10:00:00Z", "scopes": ["core:files"]},
            "monitoring": {"key": strong("monitoring"), "scopes": ["monitoring:version"]},
        },
    }
    return LocalApi(api, functions, parse_api_keys(document, START), log=lambda _: None, clock=clock)


def post(api: LocalApi, headers: list[tuple[str, str]]) -> tuple[int, dict[str, Any]]:
    response = api.handle(HttpRequest("POST", FILE_TOKEN, headers, b"{}"))
    return response.status, json.loads(response.body)


def test_a_key_that_expires_while_serving_is_refused_from_then_on() -> None:
    clock, calls = Clock(), []
    api = local_api(clock, calls)
    assert post(api, [("x-token", strong("soon"))])[0] == 201  # the configured header name, any case
    clock.now = START + timedelta(hours=1, seconds=1)
    status, body = post(api, [("X-TOKEN", strong("soon"))])
    assert (status, body["error"]["code"]) == (401, "error.connector.unauthorized")
    assert calls == ["/api/core/v1/Files/{id}/Token"]  # the refused request reached no function


def test_the_configured_header_is_the_only_one_read() -> None:
    api = local_api(Clock(), [])
    assert post(api, [("X-API-KEY", strong("soon"))])[0] == 401


def test_a_key_without_the_scope_is_forbidden_before_any_function_runs() -> None:
    calls: list[str] = []
    status, body = post(local_api(Clock(), calls), [("X-Token", strong("monitoring"))])
    assert status == 403
    assert body["error"]["code"] == "error.connector.forbidden"
    assert body["error"]["message"] == "You are not allowed to access this endpoint."
    assert set(body["error"]) == {"code", "message", "id", "time", "docs"}
    assert calls == []
