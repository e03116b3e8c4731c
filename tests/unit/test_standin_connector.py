"""The stand-in Connector answers what the Connector's OpenAPI document (nmshd/connector 7.4.6 and 6.36.11,
src/modules/coreHttpApi/openapi.yml) promises for the fields this service reads: checked against our own minimal
JSON Schema of those fields, written from that document (its copy may not be committed here). And our Connector
client against the stand-in's answers and failures."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
from nmshd_tokens.domain.crypto import generate_key, generate_salt
from nmshd_tokens.domain.files_and_templates import FileRecord, StoredPasswordProtection, TemplateRecord
from nmshd_tokens.domain.ids import new_id
from nmshd_tokens.storage.connector_client import ConnectorClient, ConnectorUnavailable
from nmshd_tokens.usecases.ports import ConnectorCopy
from nmshd_tokens_local.standin_connector import StandinConnector

from tests.support import future

ADDRESS = "did:e:localhost:dids:5e7a9f1c3b2d4e6f8a0bcb"
KEY = "standin-unit-key-0123456789"

_DATE_TIME = {"type": "string", "format": "date-time"}
_ADDRESS = {"type": "string", "minLength": 35}
_REFERENCE = {
    "type": "object",
    "properties": {"truncated": {"type": "string"}, "url": {"type": "string"}},
    "required": ["truncated", "url"],
}
_FILE_V7 = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "pattern": "^FIL[A-Za-z0-9]{17}$"},
        "expiresAt": {"anyOf": [_DATE_TIME, {"type": "null"}]},
        "isOwn": {"type": "boolean"},
        "owner": _ADDRESS,
        "createdBy": _ADDRESS,
        "reference": _REFERENCE,
    },
    # FileMetadata's required members (7.4.6)
    "required": [
        "id",
        "filename",
        "filesize",
        "createdAt",
        "createdBy",
        "createdByDevice",
        "expiresAt",
        "mimetype",
        "isOwn",
        "reference",
        "owner",
    ],
}
_FILE_V6 = _FILE_V7 | {
    "properties": _FILE_V7["properties"] | {"truncatedReference": {"type": "string"}},  # type: ignore[operator]
    # 6.36.11 requires title and truncatedReference, not reference
    "required": [name for name in _FILE_V7["required"] if name != "reference"] + ["title", "truncatedReference"],  # type: ignore[union-attr]
}
_PASSWORD_PROTECTION = {
    "type": "object",
    "properties": {
        "password": {"type": "string"},
        "passwordIsPin": {"const": True},
        "passwordLocationIndicator": {
            "anyOf": [
                {"enum": ["Self", "Letter", "RegistrationLetter", "Email", "SMS", "Website"]},
                {"type": "number", "minimum": 50, "maximum": 99},
            ]
        },
    },
    "required": ["password"],
}
_TEMPLATE_V7 = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "pattern": "^RLT[A-Za-z0-9]{17}$"},
        "isOwn": {"type": "boolean"},
        "expiresAt": _DATE_TIME,
        "forIdentity": _ADDRESS,
        "passwordProtection": _PASSWORD_PROTECTION,
        "reference": _REFERENCE,
    },
    "required": ["id", "isOwn", "createdBy", "createdByDevice", "createdAt", "expiresAt", "content", "reference"],
}
_TEMPLATE_V6 = _TEMPLATE_V7 | {
    "properties": _TEMPLATE_V7["properties"] | {"truncatedReference": {"type": "string"}},  # type: ignore[operator]
    "required": [name for name in _TEMPLATE_V7["required"] if name != "reference"] + ["truncatedReference"],  # type: ignore[union-attr]
}
_IDENTITY_INFO = {
    "type": "object",
    "properties": {"address": _ADDRESS, "publicKey": {"type": "string"}},
    "required": ["address", "publicKey"],
}
_VERSION = {
    "type": "object",
    "properties": {name: {"type": "string"} for name in ("build", "commit", "version", "date")},
    "required": ["build", "commit", "version", "date"],
}


def _result(schema: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": {"result": schema}, "required": ["result"]}


def _list(schema: dict[str, Any]) -> dict[str, Any]:
    return _result({"type": "array", "items": schema})


GENERATIONS = {
    "7.4.6": ("/api/core/v1", _FILE_V7, _TEMPLATE_V7),
    "6.36.11": ("/api/v2", _FILE_V6, _TEMPLATE_V6),
}


@pytest.fixture(params=sorted(GENERATIONS), ids=["connector6", "connector7"])
def standin(request: pytest.FixtureRequest) -> Iterator[StandinConnector]:
    with StandinConnector(ADDRESS, api_key=KEY, version=request.param) as connector:
        yield connector


def get(standin: StandinConnector, path: str, key: str | None = KEY) -> tuple[int, Any]:
    request = urllib.request.Request(standin.base_url + path, headers={"X-API-KEY": key} if key else {})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310 - loopback
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def records() -> list[FileRecord | TemplateRecord]:
    protection = StoredPasswordProtection("1234", "pin4", generate_salt(), 50)
    later = future(9).replace(microsecond=0)
    return [
        FileRecord(new_id("FIL"), generate_key(), later),
        FileRecord(new_id("FIL"), generate_key()),
        TemplateRecord(new_id("RLT"), generate_key(), later),
        TemplateRecord(
            new_id("RLT"), generate_key(), later, True, "did:e:localhost:dids:0123456789abcdef012357", protection
        ),
    ]


def test_the_standins_answers_match_the_connectors_documented_shapes(standin: StandinConnector) -> None:
    prefix, file_schema, template_schema = GENERATIONS[standin.version]
    added = records()
    for record in added:
        standin.add(record)
    checker = jsonschema.Draft202012Validator
    checker(_VERSION).validate(get(standin, "/Monitoring/Version")[1])
    checker(_result(_IDENTITY_INFO)).validate(get(standin, prefix + "/Account/IdentityInfo")[1])
    checker(_list(file_schema)).validate(get(standin, prefix + "/Files/Own")[1])
    checker(_list(template_schema)).validate(get(standin, prefix + "/RelationshipTemplates/Own")[1])
    for record in added:
        kind, schema = (
            ("Files", file_schema) if record.id.startswith("FIL") else ("RelationshipTemplates", template_schema)
        )
        status, body = get(standin, f"{prefix}/{kind}/{record.id}")
        assert status == 200
        checker(_result(schema)).validate(body)


def test_the_schema_check_can_fail(standin: StandinConnector) -> None:
    prefix, file_schema, _ = GENERATIONS[standin.version]
    file = records()[0]
    standin.add(file)
    body = get(standin, f"{prefix}/Files/{file.id}")[1]
    del body["result"]["owner"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(_result(file_schema)).validate(body)


def test_the_standin_checks_the_key(standin: StandinConnector) -> None:
    assert get(standin, "/Monitoring/Version", key=None)[0] == 401
    assert get(standin, "/Monitoring/Version", key="wrong")[0] == 401
    standin.scopes = {"core:files"}  # Connector 7's scoped keys: 403 for a route without its scope
    assert get(standin, "/Monitoring/Version")[0] == 403
    prefix = GENERATIONS[standin.version][0]
    assert get(standin, prefix + "/Account/IdentityInfo")[0] == 403
    assert get(standin, prefix + "/Files/Own")[0] == 200


def test_our_client_reads_what_the_standin_serves(standin: StandinConnector) -> None:
    added = records()
    for record in added:
        standin.add(record)
    client = ConnectorClient(standin.base_url, lambda: KEY)
    assert client.address() == ADDRESS
    own = sorted((copy.record for copy in client.own_records()), key=lambda record: record.id)
    assert own == sorted(added, key=lambda record: record.id)
    assert all(client.record(record.id) == ConnectorCopy(record, ADDRESS) for record in added)
    assert client.record(new_id("FIL")) is None


@pytest.mark.parametrize("fail", ["401", "403", "500", "malformed", "down", "slow"])
def test_our_client_turns_each_failure_into_a_503(standin: StandinConnector, fail: str) -> None:
    standin.fail = fail
    client = ConnectorClient(standin.base_url, lambda: KEY, "core/v1", timeout=0.2)  # "slow": the stand-in waits 5 s
    with pytest.raises(ConnectorUnavailable) as caught:
        client.record(new_id("FIL"))
    standin.release.set()
    assert caught.value.status == 503 and KEY not in caught.value.message
