"""The records table a `records` command works on: the one a running `serve` uses, unless configured otherwise."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from nmshd_tokens.config import ConfigError, Settings
from nmshd_tokens.domain.errors import DomainError
from nmshd_tokens.domain.files_and_templates import FileRecord
from nmshd_tokens.storage.aws_clients import aws_client
from nmshd_tokens.storage.records_table import DynamoRecordsRepository

from .aws_env import ENDPOINT_VARIABLE, local_endpoint, use_endpoint
from .errors import CommandError, InputError, note
from .record_forms import OwnRecord
from .state import find_server


class RecordsTarget:
    """Writes and lists records, turning every storage failure into a one-line CommandError."""

    def __init__(self, endpoint: str | None, settings: Settings) -> None:
        """`endpoint` only names where the records are; the client finds it in AWS_ENDPOINT_URL_DYNAMODB."""
        self.endpoint = endpoint
        self.table = settings.records_table
        self.settings = settings
        self.repository = DynamoRecordsRepository(self.table, aws_client("dynamodb", settings.region))

    @classmethod
    def configured(
        cls,
        endpoint: str | None = None,
        *,
        real_aws: bool = False,
        server: int | None = None,
        warn: Callable[[str], None] = note,
    ) -> RecordsTarget:
        """`endpoint`; or the DynamoDB of the `serve` on API port `server`; else AWS_ENDPOINT_URL_DYNAMODB, else the
        DynamoDB of the only running `serve` (its state file), else the default port of the embedded one; or real
        AWS."""
        if real_aws:
            os.environ.pop(ENDPOINT_VARIABLE, None)  # boto3 itself would read it
            chosen = None
        elif server is not None:
            chosen = _running_serve_endpoint(warn, server)
        else:
            chosen = endpoint or os.environ.get(ENDPOINT_VARIABLE) or _running_serve_endpoint(warn) or local_endpoint()
        use_endpoint(chosen)
        try:
            settings = Settings.from_env()
        except ConfigError as exc:
            raise CommandError(str(exc)) from None
        return cls(chosen, settings)

    @property
    def where(self) -> str:
        return f"table {self.table} at {self.endpoint or 'AWS'}"

    @contextmanager
    def failures(self, record_id: str | None = None) -> Iterator[None]:
        """Storage failures inside the block become one-line CommandErrors naming the table and endpoint."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            yield
        except DomainError:  # storage_errors() maps outages and throttling to 503
            hint = " (is `nmshd-tokens serve` running?)" if self.endpoint else ""
            raise CommandError(f"cannot reach DynamoDB for {self.where}{hint}") from None
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "ConditionalCheckFailedException":
                raise InputError(f"a record with id {record_id} already exists in {self.where}") from None
            if code == "ResourceNotFoundException":
                raise CommandError(f"{self.where} does not exist (check RECORDS_TABLE)") from None
            raise CommandError(f"DynamoDB refused the request for {self.where}: {code}") from None
        except BotoCoreError as exc:  # missing credentials, bad region …
            raise CommandError(f"DynamoDB client error for {self.where}: {type(exc).__name__}") from None

    def add(self, record: OwnRecord) -> None:
        with self.failures(record.id):
            if isinstance(record, FileRecord):
                self.repository.put_file(record)
            else:
                self.repository.put_template(record)

    def list(self) -> list[OwnRecord]:
        with self.failures():
            return self.repository.list_own_records()


def _running_serve_endpoint(warn: Callable[[str], None], port: int | None = None) -> str | None:
    state = find_server(warn, port)
    return state.dynamodb_endpoint if state is not None else None
