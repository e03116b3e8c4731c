"""Bulk creation: one queued command per message, results to an output store, exactly once per command.

Per message:
1. The idempotency key is the message's `idempotencyKey`, else its SQS message id. A command already recorded
   under it is not run again: its outputs are written if they were not yet (a crash after the token), else nothing.
2. A permanent failure (invalid JSON, validation, rules, missing records: 4xx) is written to
   `<prefix>/errors/<messageId>.json` as the error envelope and recorded, so it is not retried.
3. Otherwise the token is created with the command's record (TokenWrite): the embedded backbone writes both in one
   transaction, so a token never exists without its record; a remote Backbone cannot join a transaction, so there
   the record follows the token and a crash in between means a second token on redelivery (the first is an
   orphan: its reference was never handed out).
4. `<prefix>/<tokenId>.png` (qrCode) and `<prefix>/<tokenId>.json` (the TokenDTO) are written (same key, same bytes
   on every retry), then the record is marked done and forgets the token.
Transient failures (503, 429, anything unexpected) propagate: the caller reports the message for a retry.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from ..domain.clock import utc_now
from ..domain.connector import QrForm
from ..domain.errors import DomainError, validation_error
from ..domain.json_codec import dumps_compact, parse_json_object
from ..domain.password_protection import is_unicode_text
from ..domain.validation import MSG_NOT_UNICODE
from .commands import Command, parse_command
from .create_token import TokenCreation
from .ports import CommandAlreadyRecorded, CommandLog, CommandRecord, OutputStore

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
    creation: TokenCreation
    log: CommandLog
    outputs: OutputStore
    backbone_base_url: str
    default_qr_form: QrForm
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
            record = self._create(parse_command(raw, self.default_qr_form), key, prefix, message)
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
        pending = CommandRecord(
            key=key,
            message_id=message.message_id,
            prefix=prefix,
            expires_at=self.clock() + RECORD_LIFETIME,
            qr_form=command.request.qr_form,
        )
        token = self.creation.create(command.request, self.backbone_base_url, command=pending)
        return replace(pending, token=token)

    def _recorded(self, key: str) -> CommandRecord:
        record = self.log.get(key)
        if record is None:
            raise RuntimeError("a command record vanished")
        return record

    def _resume(self, record: CommandRecord) -> Outcome:
        if record.done or record.token is None:
            return Outcome.DUPLICATE
        self._write_outputs(record)
        self.log.mark_done(record.key)
        return Outcome.RESUMED

    def _refuse(self, error: DomainError, key: str, prefix: str, message: Message) -> Outcome:
        body = dumps_compact(error.envelope()).encode("utf-8")
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
        token = record.token
        if token is None:
            raise ValueError("only a token's record has outputs")
        metadata = {"message-id": record.message_id}
        base = f"{record.prefix}/{token.id}"
        if record.qr_form is not None:
            from ..qr import qr_png  # the batch function loads the QR tables on its first QR command

            self.outputs.put(f"{base}.png", qr_png(token.qr_payload(record.qr_form)), _PNG, metadata)
        self.outputs.put(f"{base}.json", dumps_compact(token.to_dto()).encode("utf-8"), _JSON, metadata)
