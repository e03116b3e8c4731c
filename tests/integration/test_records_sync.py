"""`nmshd-tokens records sync` (SPEC §15) against the stand-in Connector, into the records table on moto."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from nmshd_tokens.domain.crypto import generate_key
from nmshd_tokens.domain.files_and_templates import FileRecord, TemplateRecord
from nmshd_tokens.domain.ids import new_id
from nmshd_tokens.storage.records_table import DynamoRecordsRepository
from nmshd_tokens_local import cli
from nmshd_tokens_local.standin_connector import StandinConnector

from tests.conftest import RECORDS_TABLE
from tests.support import future

ADDRESS = "did:e:localhost:dids:5e7a9f1c3b2d4e6f8a0bcb"  # the default SERVICE_ADDRESS
KEY = "sync-test-key-0123456789"
COUNT = 1000  # Files, and as many templates


@pytest.fixture
def connector(aws: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[StandinConnector]:
    monkeypatch.setenv("RECORDS_TABLE", RECORDS_TABLE)
    for variable in ("CONNECTOR_BASE_URL", "CONNECTOR_API_KEY", "SERVICE_ADDRESS", "AWS_ENDPOINT_URL_DYNAMODB"):
        monkeypatch.delenv(variable, raising=False)
    with StandinConnector(ADDRESS, api_key=KEY) as standin:
        yield standin


def sync(connector: StandinConnector, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = cli.main(["records", "sync", "--aws", "--connector", connector.base_url, "--connector-api-key", KEY])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def fill(connector: StandinConnector, count: int) -> list[FileRecord | TemplateRecord]:
    records: list[FileRecord | TemplateRecord] = []
    for _ in range(count):
        records.append(FileRecord(new_id("FIL"), generate_key()))
        # A template always has an expiry at the Connector; the table keeps milliseconds.
        records.append(TemplateRecord(new_id("RLT"), generate_key(), future(30).replace(microsecond=0)))
    for record in records:
        connector.add(record)
    return records


def test_sync_of_a_thousand_files_and_templates_is_idempotent(
    connector: StandinConnector, records: DynamoRecordsRepository, capsys: pytest.CaptureFixture[str]
) -> None:
    added = fill(connector, COUNT)
    status, out, err = sync(connector, capsys)
    assert status == 0, err
    assert f"added {2 * COUNT}, refreshed 0, removed 0" in out
    assert "1000 records read from the Connector…" in err  # a progress line for a long list
    stored = {record.id: record for record in records.list_own_records(limit=10 * COUNT)}
    assert stored == {record.id: record for record in added}

    status, out, _ = sync(connector, capsys)
    assert status == 0 and f"added 0, refreshed {2 * COUNT}, removed 0" in out
    assert {record.id: record for record in records.list_own_records(limit=10 * COUNT)} == stored


def test_sync_removes_what_the_connector_dropped_and_keeps_the_toolings(
    connector: StandinConnector, records: DynamoRecordsRepository, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second, *_ = fill(connector, 3)
    mine = FileRecord(new_id("FIL"), generate_key())
    records.put_file(mine)
    connector.add(FileRecord(mine.id, generate_key()))  # the Connector's copy of the same id differs
    assert sync(connector, capsys)[0] == 0
    connector.remove(first.id)
    connector.remove(mine.id)
    status, out, _ = sync(connector, capsys)
    assert status == 0 and "added 0, refreshed 5, removed 1" in out
    assert records.get_file(first.id) is None
    assert records.get_template(second.id) == second
    assert records.get_file(mine.id) == mine  # the tooling's record stays, whatever the Connector says


def test_sync_refuses_a_connector_of_another_identity(
    aws: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RECORDS_TABLE", RECORDS_TABLE)
    other = "did:e:localhost:dids:0123456789abcdef012357"
    with StandinConnector(other, api_key=KEY) as standin:
        status, _, err = sync(standin, capsys)
    assert status == 1
    assert ADDRESS in err and other in err


def test_sync_says_when_the_connector_refuses(connector: StandinConnector, capsys: pytest.CaptureFixture[str]) -> None:
    connector.fail = "401"
    status, _, err = sync(connector, capsys)
    assert status == 1 and "refused this service's API key (HTTP 401)" in err and KEY not in err


def test_sync_with_a_key_of_only_the_files_and_templates_scopes(
    connector: StandinConnector, records: DynamoRecordsRepository, capsys: pytest.CaptureFixture[str]
) -> None:
    connector.scopes = {"core:files", "core:relationshipTemplates"}
    added = fill(connector, 2)
    status, out, err = sync(connector, capsys)
    assert status == 0, err
    assert "added 4, refreshed 0, removed 0" in out
    assert all(records.get_file(r.id) or records.get_template(r.id) for r in added)
