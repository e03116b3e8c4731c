"""Bulk creation: one queued command per message, results to an output store, exactly once per command (issue #6).

Per message:
1. The idempotency key is the message's `idempotencyKey`, else its SQS message id. A command already recorded
   under it is not run again: its outputs are written if they were not yet (a crash after the token), else nothing.
2. A permanent failure (invalid JSON, validation, rules, missing records: 4xx) is written to
   `<prefix>/errors/<messageId>.json` as the error envelope and recorded, so it is not retried.
3. Otherwise the token is created and its record written with it: in ONE transaction with the embedded backbone
   (`atomic`), so a token never exists without its record; a remote Backbone cannot join a transaction, so there
   the record follows the token and a crash in between means a second token on redelivery (the first is an
   orphan: its reference was never handed out).
4. `<prefix>/<tokenId>.png` (qrCode) and `<prefix>/<tokenId>.json` (the TokenDTO) are written (same key, same bytes
   on every retry), then the record is marked done and forgets the DTO.
Transient failures (503, 429, anything unexpected) propagate: the caller reports the message for a retry.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from ..domain.errors import DomainError, validation_error
from ..domain.models import Token
from ..domain.qr import qr_png
from ..domain.validation import MSG_NOT_UNICODE, is_unicode_text
from ..http.body import parse_json_object  # the HTTP body's rules (size, duplicate keys) for message bodies
from ..storage.ports import (
    CommandAlreadyRecorded,
    CommandLog,
    CommandRecord,
    OutputStore,
    TransactItem,
)
from .commands import Command, create_token, parse_command, qr_text
from .create_token import TokenService, utc_now

DEFAULT_PREFIX = "tokens"
# SQS keeps a message (and a dead-letter queue its copy) for at most 14 days: every redelivery finds the record.
RECORD_LIFETIME = timedelta(days=14)
MAX_IDEMPOTENCY_KEY_LENGTH = 256
MAX_PREFIX_LENGTH = 512
PREFIX_PATTERN = "[A-Za-z0-9_.=-]+(/[A-Za-z0-9_.=-]+)*"
_PREFIX_RE = re.compile(PREFIX_PATTERN)
_JSON = "application/json"
_PNG = "image/png"


class Outcome(Enum):
    CREATED = "created"
    REFUSED = "refused"  # a permanent failure, written to <prefix>/errors/
    RESUMED = "resumed"  # recorded earlier, outputs written now
    DUPLICATE = "duplicate"  # recorded and complete earlier: nothing to do


@dataclass(frozen=True)
class Message:
    message_id: str
    body: str | None


def is_permanent(error: DomainError) -> bool:
    """4xx: the same command fails the same way again. 429 (a quota) clears with time, so it is retried."""
    return 400 <= error.status < 500 and error.status != 429


def _idempotency_key(raw: dict[str, Any], message_id: str) -> str:
    if "idempotencyKey" not in raw:
        return f"sqs:{message_id}"
    key = raw["idempotencyKey"]
    if not isinstance(key, str):
        raise validation_error("idempotencyKey must be string")
    if not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY_LENGTH:
        raise validation_error(f"idempotencyKey must have 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} characters")
    if not is_unicode_text(key):
        raise validation_error(MSG_NOT_UNICODE.format(field="idempotencyKey"))
    return f"key:{key}"


def _output_prefix(raw: dict[str, Any]) -> str:
    prefix = raw.get("outputKey", DEFAULT_PREFIX)
    if not isinstance(prefix, str):
        raise validation_error("outputKey must be string")
    prefix = prefix.strip("/")
    segments = prefix.split("/")
    if len(prefix) > MAX_PREFIX_LENGTH or not _PREFIX_RE.fullmatch(prefix) or {".", ".."} & set(segments):
        raise validation_error(f"outputKey must match pattern {PREFIX_PATTERN} without '.' or '..' segments")
    return prefix


@dataclass
class BatchTokenCreator:
    service: TokenService
    log: CommandLog
    outputs: OutputStore
    qr_default_format: str
    clock: Callable[[], datetime] = field(default=utc_now)

    def process(self, message: Message) -> Outcome:
        key, prefix = f"sqs:{message.message_id}", DEFAULT_PREFIX
        refusal: DomainError | None = None
        raw: dict[str, Any] = {}
        try:  # the checks of the message itself, before the command's: each one falls back to the defaults
            raw = parse_json_object(message.body)
            key = _idempotency_key(raw, message.message_id)
            prefix = _output_prefix(raw)
        except DomainError as error:
            refusal = error
        existing = self.log.get(key)
        if existing is not None:
            return self._resume(existing)
        try:
            if refusal is not None:
                raise refusal
            record = self._create(parse_command(raw), key, prefix, message)
        except CommandAlreadyRecorded:  # a concurrent delivery of the same command won
            return self._resume(self._recorded(key))
        except DomainError as error:
            if not is_permanent(error):
                raise
            return self._refuse(error, key, prefix, message)
        self._write_outputs(record)
        self.log.mark_done(key)
        return Outcome.CREATED

    # --- steps ---------------------------------------------------------------------------------------------

    def _create(self, command: Command, key: str, prefix: str, message: Message) -> CommandRecord:
        def record_for(dto: dict[str, Any]) -> CommandRecord:
            payload = qr_text(dto["reference"], command.request.new_qr_code_format, self.qr_default_format)
            return CommandRecord(
                key=key,
                message_id=message.message_id,
                prefix=prefix,
                expires_at=self.clock() + RECORD_LIFETIME,
                token_id=str(dto["id"]),
                dto=dto,
                qr_payload=payload if command.qr_code else None,
            )

        if not self.service.publisher.supports_transactions:
            record = record_for(create_token(self.service, command).to_dto())
            if not self.log.add(record):
                raise CommandAlreadyRecorded  # our token is an orphan; the recorded one is the result
            return record
        recorded: list[CommandRecord] = []

        def record_item(token: Token) -> TransactItem:
            recorded.append(record_for(token.to_dto()))
            return self.log.put_request(recorded[-1])

        # The record is written in the token's own transaction: a token never exists without it.
        create_token(self.service, command, also=record_item)
        return recorded[-1]

    def _recorded(self, key: str) -> CommandRecord:
        record = self.log.get(key)
        if record is None:
            raise RuntimeError("a command record vanished")
        return record

    def _resume(self, record: CommandRecord) -> Outcome:
        if record.done or record.dto is None:
            return Outcome.DUPLICATE
        self._write_outputs(record)
        self.log.mark_done(record.key)
        return Outcome.RESUMED

    def _refuse(self, error: DomainError, key: str, prefix: str, message: Message) -> Outcome:
        body = json.dumps(error.envelope(), separators=(",", ":")).encode("utf-8")
        self.outputs.put(f"{prefix}/errors/{message.message_id}.json", body, _JSON, {"message-id": message.message_id})
        failure = CommandRecord(
            key=key,
            message_id=message.message_id,
            prefix=prefix,
            expires_at=self.clock() + RECORD_LIFETIME,
            error_code=error.code,
            done=True,
        )
        self.log.add(failure)  # False: a concurrent delivery recorded it first; either record says the same
        return Outcome.REFUSED

    def _write_outputs(self, record: CommandRecord) -> None:
        """Deterministic bytes from the record alone, so a retry rewrites exactly what the first attempt wrote."""
        if record.dto is None or record.token_id is None:
            raise ValueError("only a token's record has outputs")
        metadata = {"message-id": record.message_id}
        base = f"{record.prefix}/{record.token_id}"
        if record.qr_payload is not None:
            self.outputs.put(f"{base}.png", qr_png(record.qr_payload), _PNG, metadata)
        dto = json.dumps(record.dto, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        self.outputs.put(f"{base}.json", dto, _JSON, metadata)
