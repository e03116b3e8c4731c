"""Our OpenAPI document is generated from the code (deployment/openapi.py), committed, and must not drift; it is
valid OpenAPI 3.1, matches the template's routes, states the request rules the runtime checks, and describes what
the handlers really answer."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, get_args

import pytest
from jsonschema import Draft202012Validator
from nmshd_tokens.domain.connector import Generation
from nmshd_tokens.domain.errors import DomainError
from nmshd_tokens.domain.password_protection import SETTABLE_INDICATOR_NAMES
from nmshd_tokens.domain.references import Reference
from nmshd_tokens.domain.token_query import parse_token_query
from nmshd_tokens.domain.validation import collect_failures
from nmshd_tokens.usecases.peer_tokens import parse_peer_token_request
from nmshd_tokens_local.tables import load_template
from openapi_spec_validator import validate
from pydantic import ValidationError

from deployment.openapi import (
    BackboneTokenResult,
    ErrorContent,
    HealthReport,
    IndicatorName,
    TokenList,
    TokenListConnector7,
    TokenResult,
    TokenResultConnector7,
    VersionReport,
    build_openapi,
    render_openapi,
)
from tests.support import ROUTES, Functions, api_event, future, json_body

ROOT = Path(__file__).resolve().parents[2]


def test_committed_openapi_is_up_to_date() -> None:
    committed = (ROOT / "docs" / "openapi.json").read_text(encoding="utf-8")
    assert committed == render_openapi(), "docs/openapi.json is stale: run `make openapi` and commit it"


def test_the_document_is_valid_openapi_3_1() -> None:
    document = json.loads((ROOT / "docs" / "openapi.json").read_text(encoding="utf-8"))
    assert document["openapi"] == "3.1.0"
    validate(document)


def test_no_runtime_module_imports_pydantic() -> None:
    """The generator is a build step: nothing that ships in the layer uses pydantic."""
    importing = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "shared").rglob("*.py")
        if any(line.lstrip().startswith(("import pydantic", "from pydantic")) for line in path.read_text().splitlines())
    ]
    assert importing == []


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


# --- the request rules: the document and the runtime read the same statement --------------------------------

FILE_ID = "FILabcdefghij0123456"
ADDRESS = "did:e:localhost:dids:0123456789abcdef012357"
# Bodies each valid or invalid under one rule. Excluded are the rules JSON Schema cannot state, so the runtime
# alone checks them: an expiry in the future, Unicode text, and date-times RFC 3339 refuses but the Connector takes.
BODIES: list[dict[str, Any]] = [
    {},
    {"unknownKey": {"deep": 1}},
    {"expiresAt": "2099-01-02T03:04:05Z"},
    {"expiresAt": "2099-01-02T03:04:05.678+02:00"},
    {"expiresAt": "soon"},
    {"expiresAt": "2099-01-02"},
    {"expiresAt": 5},
    {"expiresAt": None},
    {"ephemeral": True},
    {"ephemeral": False},
    {"ephemeral": "true"},
    {"ephemeral": None},
    {"ephemeral": 1},
    {"forIdentity": ADDRESS},
    {"forIdentity": "did:e:pilot.enmeshed.eu:dids:0123456789abcdef0123a8"},
    {"forIdentity": ADDRESS + "0"},
    {"forIdentity": "x" + ADDRESS},
    {"forIdentity": ADDRESS.upper()},
    {"forIdentity": 5},
    {"passwordProtection": None},
    {"passwordProtection": "secret"},
    {"passwordProtection": {}},
    {"passwordProtection": {"password": "x"}},
    {"passwordProtection": {"password": "x", "extra": 1}},
    {"passwordProtection": {"password": ""}},
    {"passwordProtection": {"password": "x" * 1000}},
    {"passwordProtection": {"password": "x" * 1001}},
    {"passwordProtection": {"password": 1234}},
    {"passwordProtection": {"password": "1234", "passwordIsPin": True}},
    {"passwordProtection": {"password": "1234567890123456", "passwordIsPin": True}},
    {"passwordProtection": {"password": "12345678901234567", "passwordIsPin": True}},
    {"passwordProtection": {"password": "123", "passwordIsPin": True}},
    {"passwordProtection": {"password": "12a4", "passwordIsPin": True}},
    {"passwordProtection": {"password": "1234", "passwordIsPin": False}},
    {"passwordProtection": {"password": "1234", "passwordIsPin": 1}},
    {"passwordProtection": {"password": "1234", "passwordIsPin": None}},
    *(
        {"passwordProtection": {"password": "pw", "passwordLocationIndicator": indicator}}
        for indicator in ["Self", "Website", "SMS", "sms", "RecoveryKit", "", 49, 50, 99, 100, 0, 6, True, None, "50"]
    ),
]


@pytest.mark.parametrize("generation", [Generation.API_V2, Generation.CORE_V1])
@pytest.mark.parametrize("body", BODIES, ids=[json.dumps(body)[:60] for body in BODIES])
def test_the_documented_body_accepts_what_the_runtime_accepts(body: dict[str, Any], generation: Generation) -> None:
    document = build_openapi()
    prefix = "/api/v2" if generation is Generation.API_V2 else "/api/core/v1"
    reference = document["paths"][f"{prefix}/Files/{{id}}/Token"]["post"]["requestBody"]["content"]["application/json"]
    # The document as the root resource, so that its #/components references resolve.
    validator = Draft202012Validator(
        {**document, **reference["schema"]}, format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    runtime = collect_failures("fileId", {**body, "fileId": FILE_ID}, wants_png=False, generation=generation)
    assert validator.is_valid(body) == (runtime == []), runtime


@pytest.mark.parametrize("value", [True, False, None, "yes", 1, {}])
def test_the_documented_qr_code_format_is_the_runtime_rule(value: Any) -> None:
    """`newQRCodeFormat` is Connector 6's, checked for a QR code; null is "not given" (the description says so)."""
    document = build_openapi()
    schema = document["components"]["schemas"]["CreateTokenBody"]["properties"]["newQRCodeFormat"]
    body = {"fileId": FILE_ID, "newQRCodeFormat": value}
    runtime = collect_failures("fileId", body, wants_png=True, generation=Generation.API_V2)
    assert (value is None or Draft202012Validator(schema).is_valid(value)) == (runtime == [])
    assert "newQRCodeFormat" not in document["components"]["schemas"]["CreateTokenBodyConnector7"]["properties"]


def test_documented_query_keys_and_values_are_the_ones_the_runtime_accepts() -> None:
    parameters = build_openapi()["paths"]["/api/v2/Tokens/Own"]["get"]["parameters"]
    assert len(parameters) == 10
    for parameter in parameters:
        name, schema = parameter["name"], parameter["schema"]
        for value in schema.get("enum", ["x", ""]):
            parse_token_query({name: [value]})  # accepted
        if "enum" in schema:
            with pytest.raises(DomainError) as refused:
                parse_token_query({name: ["-".join(["not", *schema["enum"]])]})
            assert refused.value.message == f"query/{name} must be equal to one of the allowed values"


def test_answers_name_the_indicators_a_request_may_name() -> None:
    assert get_args(IndicatorName) == tuple(SETTABLE_INDICATOR_NAMES)


# --- POST /Tokens/Peer ---------------------------------------------------------------------------------------

_PEER_REFERENCE = Reference("TOKpeerReference0001", bytes(32), "https://backbone.example.com")
PEER_BODIES: list[dict[str, Any]] = [
    {"reference": _PEER_REFERENCE.url},
    {"reference": _PEER_REFERENCE.truncated, "ephemeral": True, "password": "pw"},
    {"reference": _PEER_REFERENCE.url, "password": ""},
    {},
    {"reference": 1},
    {"reference": "VE9L"},
    {"reference": "https://backbone.example.com/r/FILx#abc"},
    {"reference": _PEER_REFERENCE.url, "ephemeral": "true"},
    {"reference": _PEER_REFERENCE.url, "password": None},
    {"reference": _PEER_REFERENCE.url, "other": 1},
]


@pytest.mark.parametrize("body", PEER_BODIES, ids=[json.dumps(body)[:60] for body in PEER_BODIES])
def test_the_documented_peer_body_accepts_what_the_runtime_accepts(body: dict[str, Any]) -> None:
    document = build_openapi()
    operation = document["paths"]["/api/core/v1/Tokens/Peer"]["post"]
    assert operation["requestBody"]["required"] is True
    validator = Draft202012Validator({**document, **operation["requestBody"]["content"]["application/json"]["schema"]})
    try:
        parse_peer_token_request(body)
        accepted = True
    except DomainError:
        accepted = False
    assert validator.is_valid(body) == accepted


def test_peer_token_answers_conform_to_their_models(functions: Functions, make_file: Callable[..., Any]) -> None:
    file = make_file(future())
    created = json_body(functions.invoke("file_token", api_event(ROUTES["file_token"][1], file.id)))
    peer = functions.configured(service_address="did:e:localhost:dids:0123456789abcdef012357")
    for prefix, one, many in (
        ("/api/v2", TokenResult, TokenList),
        ("/api/core/v1", TokenResultConnector7, TokenListConnector7),
    ):
        body = {"reference": created["result"]["reference"]["url"]}
        loaded = peer.invoke("peer_token", api_event(f"{prefix}/Tokens/Peer", None, body=body))
        assert loaded["statusCode"] == 201 and json_body(loaded)["result"]["isOwn"] is False
        one.model_validate(json_body(loaded), strict=True)
        listed = peer.invoke("token_read", api_event(f"{prefix}/Tokens/Peer", None, method="GET"))
        many.model_validate(json_body(listed), strict=True)
    refused = peer.invoke("peer_token", api_event("/api/v2/Tokens/Peer", None, body={"reference": "x"}))
    ErrorContent.model_validate(json_body(refused), strict=True)
