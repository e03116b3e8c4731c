"""Fixtures: moto DynamoDB with the tables of template.yaml, and the functions each test builds on it."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import moto  # noqa: F401 - its botocore hook must exist before the first botocore session (storage.aws_clients)
import pytest
from nmshd_tokens.config import Settings
from nmshd_tokens.domain.crypto import generate_key, generate_salt
from nmshd_tokens.domain.files_and_templates import FileRecord, StoredPasswordProtection, TemplateRecord
from nmshd_tokens.domain.ids import new_id
from nmshd_tokens.storage.records_table import DynamoRecordsRepository

from tests.support import BACKBONE_BASE_URL, FakeClock, Functions

# Never let a test reach real AWS: dummy credentials and a fixed region before boto3 is imported anywhere.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "eu-central-1",
        "AWS_REGION": "eu-central-1",
        "POWERTOOLS_SERVICE_NAME": "nmshd-tokens-test",
    }
)
os.environ.pop("AWS_ENDPOINT_URL_DYNAMODB", None)
os.environ.pop("AWS_PROFILE", None)
# Nor a `make run` of this checkout: the CLI finds running servers through their state files (state.py).
os.environ["NMSHD_TOKENS_STATE_DIR"] = os.path.join(os.path.dirname(__file__), "artifacts", "no-running-serve")

RECORDS_TABLE = "test-records"
BACKBONE_TABLE = "test-backbone"
# A deployment's settings as the tests' functions get them: built directly, not read from the environment.
TEST_SETTINGS = Settings(records_table=RECORDS_TABLE, backbone_table=BACKBONE_TABLE, region="eu-central-1")


@pytest.fixture
def clock() -> FakeClock:
    """One fake time for a stand-in Backbone and the client under test (tests.support.FakeClock)."""
    return FakeClock()


@pytest.fixture
def aws() -> Iterator[Any]:
    """moto DynamoDB with both tables created from template.yaml; yields the low-level client."""
    from moto import mock_aws
    from nmshd_tokens.storage.aws_clients import aws_client
    from nmshd_tokens_local.tables import create_tables

    with mock_aws():
        client = aws_client("dynamodb", "eu-central-1")
        create_tables(client, {"RecordsTable": RECORDS_TABLE, "BackboneTable": BACKBONE_TABLE})
        yield client


@pytest.fixture
def functions(aws: Any) -> Functions:
    """The functions of a deployment with TEST_SETTINGS on the aws fixture's tables: each test builds its own."""
    return Functions(TEST_SETTINGS, aws)


@pytest.fixture
def records(aws: Any) -> DynamoRecordsRepository:
    return DynamoRecordsRepository(RECORDS_TABLE, aws)


@pytest.fixture
def make_file(records: DynamoRecordsRepository) -> Callable[..., FileRecord]:
    def make(expires_at: datetime | None = None) -> FileRecord:
        record = FileRecord(new_id("FIL"), generate_key(), expires_at)
        records.put_file(record)
        return record

    return make


@pytest.fixture
def make_template(records: DynamoRecordsRepository) -> Callable[..., TemplateRecord]:
    def make(
        *,
        expires_at: datetime | None = None,
        is_own: bool = True,
        for_identity: str | None = None,
        password: str | None = None,
        pin: bool = False,
        indicator: int | None = None,
    ) -> TemplateRecord:
        protection = None
        if password is not None:
            password_type = f"pin{len(password)}" if pin else "pw"
            protection = StoredPasswordProtection(password, password_type, generate_salt(), indicator)
        record = TemplateRecord(new_id("RLT"), generate_key(), expires_at, is_own, for_identity, protection)
        records.put_template(record)
        return record

    return make


@pytest.fixture
def with_base_url(functions: Functions) -> Functions:
    """The functions with BACKBONE_BASE_URL configured (commands need it; HTTP requests then ignore their host)."""
    return functions.configured(backbone_base_url=BACKBONE_BASE_URL)
