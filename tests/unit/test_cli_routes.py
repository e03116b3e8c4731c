"""Routes, API-key rules and binary media types as the local server reads them from template.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from nmshd_tokens_local.routes import (
    BACKBONE_TOKEN_PATH,
    FILE_TOKEN_PATH,
    TEMPLATE_TOKEN_PATH,
    MethodNotAllowed,
    RouteMatch,
    TemplateError,
    api_from_template,
    compile_path,
)
from nmshd_tokens_local.tables import TEMPLATE_PATH, load_template

from tests.support import ROOT, ROUTES


@pytest.fixture(scope="module")
def api() -> Any:
    return api_from_template(load_template(), ROOT)


def test_the_template_path_is_the_repository_template() -> None:
    assert TEMPLATE_PATH == ROOT / "template.yaml"


def test_routes_come_from_the_template(api: Any) -> None:
    routes = {(route.method, route.path): route for route in api.routes}
    connector = {
        ("POST", "{v}/Files/{id}/Token"),
        ("POST", "{v}/RelationshipTemplates/Own/{id}/Token"),
        ("GET", "{v}/Tokens/{id}"),
        ("GET", "{v}/Tokens/Own"),
        ("GET", "{v}/Tokens/Peer"),
        ("POST", "{v}/Tokens/Own"),
        ("POST", "{v}/Tokens/Peer"),
        ("DELETE", "{v}/Tokens/{id}"),  # under /api/v2 it answers 405
    }
    expected = {
        (method, path.format(v=v, id="{id}")) for method, path in connector for v in ("/api/v2", "/api/core/v1")
    }
    expected |= {("GET", "/health"), ("GET", "/Monitoring/Version")}
    expected |= {("GET", "/backbone/api/v2/Tokens/{id}"), ("GET", "/backbone/r/{id}")}
    assert set(routes) == expected
    assert {("POST", FILE_TOKEN_PATH), ("POST", TEMPLATE_TOKEN_PATH)} <= set(routes) >= set(ROUTES.values())
    assert routes[("POST", FILE_TOKEN_PATH)].function.code_dir == ROOT / "functions" / "file_token"
    assert routes[("POST", TEMPLATE_TOKEN_PATH)].function.code_dir == ROOT / "functions" / "template_token"
    assert routes[("GET", BACKBONE_TOKEN_PATH)].function.code_dir == ROOT / "functions" / "backbone_token"
    assert all(route.function.source.name == "app.py" for route in api.routes)
    assert all(route.function.attribute == "lambda_handler" for route in api.routes)
    assert api.binary_media_types == ("*/*",)  # SAM's "*~1*", as API Gateway reads it
    assert api.stage == "v1"


def test_api_keys_guard_the_connector_routes_and_unknown_paths_only(api: Any) -> None:
    assert api.requires_api_key("POST", "/api/v2/Files/FIL1/Token")
    assert api.requires_api_key("GET", "/api/v2/Files/FIL1/Token")  # wrong method on a guarded path
    assert api.requires_api_key("POST", "/api/v2/RelationshipTemplates/Own/RLT1/Token")
    assert api.requires_api_key("GET", "/nope")
    assert api.requires_api_key("GET", "/backbone/api/v2/Tokens")
    assert not api.requires_api_key("GET", "/backbone/api/v2/Tokens/TOK1")
    assert not api.requires_api_key("POST", "/backbone/api/v2/Tokens/TOK1")
    assert not api.requires_api_key("GET", "/backbone/r/TOK1")


def test_resolve(api: Any) -> None:
    found = api.resolve("POST", "/api/v2/Files/FIL1/Token")
    assert isinstance(found, RouteMatch)
    assert found.route.function.logical_id == "FileTokenFunction"
    assert found.path_parameters == {"id": "FIL1"}
    assert api.resolve("GET", "/api/v2/Files/FIL1/Token") == MethodNotAllowed(("POST",))
    assert api.resolve("POST", "/backbone/r/TOK1") == MethodNotAllowed(("GET",))
    assert api.resolve("POST", "/api/v2/Files/FIL1/Token/x") is None
    assert api.resolve("POST", "/api/v2/Files//Token") is None
    assert api.resolve("GET", "/") is None


def _template(**api_event: Any) -> dict[str, Any]:
    return {
        "Globals": {"Api": {"BinaryMediaTypes": ["image~1*"], "Auth": {"ApiKeyRequired": True}}},
        "Resources": {
            "Fn": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "CodeUri": "functions/file_token",
                    "Handler": "app.lambda_handler",
                    "Events": {
                        "Any": {"Type": "Api", "Properties": {"Path": "/things/{proxy+}", "Method": "any"}},
                        "Open": {
                            "Type": "Api",
                            "Properties": {"Path": "/things/open", "Method": "get", **api_event},
                        },
                        "Queue": {"Type": "SQS", "Properties": {}},
                    },
                },
            }
        },
    }


def test_globals_api_auth_and_event_overrides() -> None:
    api = api_from_template(_template(Auth={"ApiKeyRequired": False}), ROOT)
    assert api.binary_media_types == ("image/*",)
    assert api.stage == "local"
    assert api.requires_api_key("GET", "/things/a/b")
    assert not api.requires_api_key("GET", "/things/open")  # the route that answers decides
    open_match = api.resolve("GET", "/things/open")
    assert isinstance(open_match, RouteMatch) and open_match.route.path == "/things/open"  # literal beats greedy
    greedy = api.resolve("DELETE", "/things/a/b")
    assert isinstance(greedy, RouteMatch) and greedy.path_parameters == {"proxy": "a/b"}


def test_template_errors_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="no function"):
        api_from_template({"Resources": {}}, ROOT)
    missing = _template()
    missing["Resources"]["Fn"]["Properties"]["CodeUri"] = "functions/nowhere"
    with pytest.raises(TemplateError, match="does not exist"):
        api_from_template(missing, ROOT)
    no_handler = _template()
    del no_handler["Resources"]["Fn"]["Properties"]["Handler"]
    with pytest.raises(TemplateError, match="Handler"):
        api_from_template(no_handler, tmp_path)


@pytest.mark.parametrize(
    ("template", "path", "expected"),
    [
        ("/a/{id}/b", "/a/X1/b", {"id": "X1"}),
        ("/a/{id}/b", "/a/X/Y/b", None),
        ("/a/{id}", "/a/", None),
        ("/a/{p+}", "/a/x/y", {"p": "x/y"}),
        ("/a.b/{id}", "/aXb/1", None),  # literal characters are not regex
    ],
)
def test_compile_path(template: str, path: str, expected: dict[str, str] | None) -> None:
    pattern, _ = compile_path(template)
    match = pattern.fullmatch(path)
    assert (match.groupdict() if match else None) == expected


def test_the_most_specific_resource_answers_first_as_api_gateway_does(api: Any) -> None:
    """`DELETE /Tokens/Own` is not `DELETE /Tokens/{id}` with the id "Own": the resource /Tokens/Own has GET and
    POST only."""
    found = api.resolve("DELETE", "/api/core/v1/Tokens/Own")
    assert isinstance(found, MethodNotAllowed) and found.allowed == ("GET", "POST")
    created = api.resolve("POST", "/api/v2/Tokens/Own")
    assert isinstance(created, RouteMatch) and created.route.function.logical_id == "OwnTokenFunction"
    revoke = api.resolve("DELETE", "/api/core/v1/Tokens/TOK1")
    assert isinstance(revoke, RouteMatch) and revoke.route.function.logical_id == "TokenRevokeFunction"
    listed = api.resolve("GET", "/api/v2/Tokens/Own")
    assert isinstance(listed, RouteMatch) and listed.route.path == "/api/v2/Tokens/Own"
