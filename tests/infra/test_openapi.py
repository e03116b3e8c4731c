"""Our OpenAPI document is generated from the code, committed, and must not drift; it matches the template's
routes and what the handlers really answer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from nmshd_tokens.http.openapi import (
    BackboneTokenResult,
    ErrorContent,
    HealthReport,
    TokenList,
    TokenListConnector7,
    TokenResult,
    TokenResultConnector7,
    VersionReport,
    build_openapi,
    render_openapi,
)
from nmshd_tokens_local.tables import load_template
from pydantic import ValidationError

from tests.support import ROUTES, Functions, api_event, future, json_body

ROOT = Path(__file__).resolve().parents[2]


def test_committed_openapi_is_up_to_date() -> None:
    committed = (ROOT / "docs" / "openapi.json").read_text(encoding="utf-8")
    assert committed == render_openapi(), "docs/openapi.json is stale: run `make openapi` and commit it"


def test_documented_paths_are_the_template_routes() -> None:
    template = load_template()
    routes = set()
    for resource in template["Resources"].values():
        for event in resource.get("Properties", {}).get("Events", {}).values():
            if event.get("Type") == "Api":
                routes.add((event["Properties"]["Path"], event["Properties"]["Method"].lower()))
    documented = {(path, method) for path, item in build_openapi()["paths"].items() for method in item}
    # The /r/{id} page is HTML for phone cameras, not an API operation.
    assert documented == routes - {("/backbone/r/{id}", "get")}


def test_handler_responses_conform_to_the_documented_models(
    functions: Functions, make_file: Callable[..., Any]
) -> None:
    file = make_file(future())
    body = {
        "forIdentity": "did:e:localhost:dids:0123456789abcdef012357",
        "ephemeral": False,
        "passwordProtection": {"password": "1234", "passwordIsPin": True, "passwordLocationIndicator": "SMS"},
    }
    created = json_body(functions.invoke("file_token", api_event(ROUTES["file_token"][1], file.id, body=body)))
    TokenResult.model_validate(created, strict=True)
    missing = json_body(functions.invoke("file_token", api_event(ROUTES["file_token"][1], "FILdoesnotexist00000")))
    ErrorContent.model_validate(missing, strict=True)
    token_id = created["result"]["id"]
    event = api_event(ROUTES["backbone_token"][1], token_id, method="GET")
    not_found = json_body(functions.invoke("backbone_token", event))  # no password for a protected token: 404
    ErrorContent.model_validate(not_found, strict=True)
    plain = json_body(functions.invoke("file_token", api_event(ROUTES["file_token"][1], file.id)))["result"]["id"]
    BackboneTokenResult.model_validate(
        json_body(functions.invoke("backbone_token", api_event(ROUTES["backbone_token"][1], plain, method="GET"))),
        strict=True,
    )


def test_kept_token_answers_conform_to_their_models(functions: Functions, make_file: Callable[..., Any]) -> None:
    file = make_file(future())
    body = {"ephemeral": False, "passwordProtection": {"password": "pw", "passwordLocationIndicator": 77}}
    created = json_body(functions.invoke("file_token", api_event("/api/core/v1/Files/{id}/Token", file.id, body=body)))
    TokenResultConnector7.model_validate(created, strict=True)
    token_id = created["result"]["id"]
    for prefix, one, many in (
        ("/api/v2", TokenResult, TokenList),
        ("/api/core/v1", TokenResultConnector7, TokenListConnector7),
    ):
        read = functions.invoke("token_read", api_event(f"{prefix}/Tokens/{{id}}", token_id, method="GET"))
        one.model_validate(json_body(read), strict=True)
        listed = functions.invoke("token_read", api_event(f"{prefix}/Tokens/Own", None, method="GET"))
        many.model_validate(json_body(listed), strict=True)
        with pytest.raises(ValidationError):  # the two generations' DTOs really differ
            (TokenResultConnector7 if one is TokenResult else TokenResult).model_validate(
                json_body(read), strict=True, extra="forbid"
            )
    HealthReport.model_validate(
        json_body(functions.invoke("service_status", api_event("/health", None, method="GET"))), strict=True
    )
    version = functions.invoke("service_status", api_event("/Monitoring/Version", None, method="GET"))
    VersionReport.model_validate(json_body(version), strict=True)
