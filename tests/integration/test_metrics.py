"""The functions' metrics: the CloudWatch EMF lines real handler calls print, read back as CloudWatch reads them."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from nmshd_tokens.domain.crypto import derive_password_hash
from nmshd_tokens.domain.encoding import b64_encode
from nmshd_tokens.domain.references import parse_reference
from nmshd_tokens.metrics import NAMESPACE
from nmshd_tokens_local.standin_backbone import StandinBackbone

from tests.conftest import BACKBONE_TABLE
from tests.support import ROUTES, Functions, api_event, future, json_body

Factory = Callable[..., Any]
# Dimension values must come from small closed sets: an id, an address or a date would be a metric of its own.
_UNBOUNDED = re.compile(r"(TOK|FIL|RLT|DVC|ERR)[A-Za-z0-9]{17}|did:e:|\d{4}-\d{2}-\d{2}")


def emf(output: str) -> list[dict[str, Any]]:
    """Each metric of each EMF line: {"name", "unit", "value", "dimensions"}, as CloudWatch extracts them."""
    found = []
    for line in output.splitlines():
        if not line.startswith("{") or '"_aws"' not in line:
            continue
        document = json.loads(line)
        (directive,) = document["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == NAMESPACE
        (dimension_names,) = directive["Dimensions"]
        dimensions = {name: document[name] for name in dimension_names}
        for metric in directive["Metrics"]:
            values = document[metric["Name"]]
            for value in values if isinstance(values, list) else [values]:
                found.append({"name": metric["Name"], "unit": metric["Unit"], "value": value, "dimensions": dimensions})
    return found


def named(metrics: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [metric for metric in metrics if metric["name"] == name]


@pytest.fixture
def printed(capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[[], list[dict[str, Any]]]]:
    capsys.readouterr()

    def read() -> list[dict[str, Any]]:
        metrics = emf(capsys.readouterr().out)
        for metric in metrics:
            assert not [value for value in metric["dimensions"].values() if _UNBOUNDED.search(str(value))], metric
        return metrics

    yield read


def test_tokens_created_by_use_case_generation_and_format(
    functions: Functions,
    make_file: Factory,
    make_template: Factory,
    printed: Callable[[], list[dict[str, Any]]],
) -> None:
    functions.invoke("file_token", api_event(ROUTES["file_token"][1], make_file(future()).id))
    assert named(printed(), "TokensCreated") == [
        {
            "name": "TokensCreated",
            "unit": "Count",
            "value": 1.0,
            "dimensions": {"service": "nmshd-tokens", "UseCase": "File", "Generation": "v2", "Format": "json"},
        }
    ]
    event = api_event("/api/core/v1/RelationshipTemplates/Own/{id}/Token", make_template().id, accept="image/png")
    functions.invoke("template_token", event)
    (created,) = named(printed(), "TokensCreated")
    assert created["dimensions"] | {"service": ""} == {
        "service": "",
        "UseCase": "RelationshipTemplate",
        "Generation": "core-v1",
        "Format": "png",
    }


def test_refusals_by_error_code(functions: Functions, printed: Callable[[], list[dict[str, Any]]]) -> None:
    functions.invoke("file_token", api_event(ROUTES["file_token"][1], "FILdoesnotexist00000"))
    functions.invoke("file_token", api_event(ROUTES["file_token"][1], "FILdoesnotexist00000", accept="text/html"))
    refused = named(printed(), "RequestsRefused")
    assert [metric["dimensions"]["ErrorCode"] for metric in refused] == [
        "error.runtime.recordNotFound",
        "error.connector.http.notAcceptable",
    ]


def test_peer_loads_wrong_passwords_and_the_lock(
    functions: Functions, aws: Any, make_file: Factory, printed: Callable[[], list[dict[str, Any]]]
) -> None:
    body = {"passwordProtection": {"password": "right"}}
    created = json_body(
        functions.invoke("file_token", api_event(ROUTES["file_token"][1], make_file(future()).id, body=body))
    )
    reference = parse_reference(created["result"]["reference"]["url"])
    assert reference.password_protection is not None
    salt = reference.password_protection.salt

    def load(password: str) -> int:
        query = {"password": b64_encode(derive_password_hash(password, salt))}
        event = api_event(ROUTES["backbone_token"][1], reference.id, method="GET", query=query)
        return int(functions.invoke("backbone_token", event)["statusCode"])

    printed()
    assert (load("right"), load("wrong")) == (200, 404)
    metrics = printed()
    assert [m["name"] for m in metrics if m["name"] in ("PeerLoads", "WrongPasswords", "TokensLocked")] == [
        "PeerLoads",
        "WrongPasswords",
    ]
    aws.update_item(
        TableName=BACKBONE_TABLE,
        Key={"id": {"S": reference.id}},
        UpdateExpression="SET failedAttempts = :n",
        ExpressionAttributeValues={":n": {"N": "99"}},
    )
    assert load("wrong") == 400
    assert {m["name"] for m in printed()} >= {"WrongPasswords", "TokensLocked", "RequestsRefused"}


def test_revocations(functions: Functions, make_file: Factory, printed: Callable[[], list[dict[str, Any]]]) -> None:
    body = {"ephemeral": False}
    created = json_body(
        functions.invoke("file_token", api_event(ROUTES["file_token"][1], make_file(future()).id, body=body))
    )
    printed()
    functions.invoke("token_revoke", api_event("/api/core/v1/Tokens/{id}", created["result"]["id"], method="DELETE"))
    assert [m["name"] for m in printed()] == ["TokensRevoked"]


def test_remote_backbone_latency_retries_and_failures(
    functions: Functions,
    make_file: Factory,
    printed: Callable[[], list[dict[str, Any]]],
) -> None:
    with StandinBackbone() as standin:
        remote = functions.against(standin)
        file = make_file(future())
        standin.fail_next(1, 503, route="tokens")
        assert remote.invoke("file_token", api_event(ROUTES["file_token"][1], file.id))["statusCode"] == 201
        metrics = printed()
        routes = {m["dimensions"]["Route"] for m in named(metrics, "BackboneLatency")}
        assert routes == {"login", "create token"}
        assert all(m["unit"] == "Milliseconds" and m["value"] > 0 for m in named(metrics, "BackboneLatency"))
        assert [m["dimensions"]["Route"] for m in named(metrics, "BackboneRetries")] == ["create token"]
        standin.fail_next(10, 503, route="tokens")
        assert remote.invoke("file_token", api_event(ROUTES["file_token"][1], file.id))["statusCode"] == 503
        assert [m["dimensions"]["Route"] for m in named(printed(), "BackboneFailures")] == ["create token"]
