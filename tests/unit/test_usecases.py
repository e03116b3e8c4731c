"""The use cases on small in-memory fakes of their ports: SPEC §3's rules and bulk creation's exactly-once logic.

No sockets, no moto: what is checked here is the use cases' own logic. The same rules are also checked through the
handlers on moto (tests/integration), which is where storage behaviour is tested.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from nmshd_tokens.domain.connector import QrForm
from nmshd_tokens.domain.crypto import decrypt_content, derive_password_hash, generate_key, generate_salt
from nmshd_tokens.domain.errors import DomainError, ErrorKind
from nmshd_tokens.domain.files_and_templates import NEVER_EXPIRES, FileRecord, StoredPasswordProtection, TemplateRecord
from nmshd_tokens.domain.tokens import Token
from nmshd_tokens.domain.validation import parse_token_request
from nmshd_tokens.usecases.batch import BatchTokenCreator, Message, Outcome
from nmshd_tokens.usecases.create_token import ServiceIdentity, TokenCreation
from nmshd_tokens.usecases.ports import CommandAlreadyRecorded, CommandRecord, TokenWrite

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
BASE_URL = "https://backbone.example.com"
IDENTITY = ServiceIdentity("did:e:localhost:dids:5e7a9f1c3b2d4e6f8a0bcb", "DVCnmshdTokens000001")
ADDRESS = "did:e:localhost:dids:0123456789abcdef012357"


@dataclass
class MemoryRecords:
    files: dict[str, FileRecord] = field(default_factory=dict)
    templates: dict[str, TemplateRecord] = field(default_factory=dict)

    def get_file(self, file_id: str) -> FileRecord | None:
        return self.files.get(file_id)

    def get_template(self, template_id: str) -> TemplateRecord | None:
        return self.templates.get(template_id)


@dataclass
class MemoryBackbone:
    """Publishes into dicts; a command's record makes the whole write fail when one exists (as a transaction)."""

    commands: dict[str, CommandRecord]
    published: dict[str, tuple[TokenWrite, Token]] = field(default_factory=dict)
    kept: dict[str, Token] = field(default_factory=dict)

    def publish(self, write: TokenWrite) -> Token:
        if write.command is not None and write.command.key in self.commands:
            raise CommandAlreadyRecorded
        token = Token(f"TOK{len(self.published):017d}", NOW, write.draft.details)
        self.published[token.id] = (write, token)
        if write.keeps_record:
            self.kept[token.id] = token
        if write.command is not None:
            self.commands[write.command.key] = replace(write.command, token=token)
        return token


@dataclass
class MemoryCommandLog:
    records: dict[str, CommandRecord]

    def get(self, key: str) -> CommandRecord | None:
        return self.records.get(key)

    def add(self, record: CommandRecord) -> bool:
        if record.key in self.records:
            return False
        self.records[record.key] = record
        return True

    def mark_done(self, key: str) -> None:
        self.records[key] = replace(self.records[key], done=True, token=None, qr_form=None)


@dataclass
class MemoryOutputs:
    objects: dict[str, bytes] = field(default_factory=dict)
    failing: bool = False

    def put(self, key: str, body: bytes, content_type: str, metadata: Mapping[str, str]) -> None:
        if self.failing:
            raise ConnectionResetError("the execution environment died")
        self.objects[key] = body


@dataclass
class World:
    records: MemoryRecords
    backbone: MemoryBackbone
    creation: TokenCreation


@pytest.fixture
def world() -> World:
    records, backbone = MemoryRecords(), MemoryBackbone({})
    return World(records, backbone, TokenCreation(records, backbone, IDENTITY, clock=lambda: NOW))


def file_request(file_id: str, **body: Any) -> Any:
    return parse_token_request("fileId", {"fileId": file_id, **body}, wants_png=False)


def template_request(template_id: str, **body: Any) -> Any:
    return parse_token_request("templateId", {"templateId": template_id, **body}, wants_png=False)


def refusal(call: Any, *args: Any) -> DomainError:
    with pytest.raises(DomainError) as caught:
        call(*args)
    return caught.value


# --- SPEC §3.1: File -----------------------------------------------------------------------------------


def test_a_file_token_carries_the_files_key_and_expiry(world: World) -> None:
    file = FileRecord("FILabcdefghij0123456", generate_key(), NOW + timedelta(days=3))
    world.records.files[file.id] = file
    token = world.creation.for_file(file_request(file.id), BASE_URL)
    write, published = world.backbone.published[token.id]
    assert published is token and token.details.expires_at == file.expires_at
    content = json.loads(decrypt_content(write.draft.content_cipher, token.details.secret_key))
    assert content == {"@type": "TokenContentFile", "fileId": file.id, "secretKey": token.details.content["secretKey"]}
    assert token.details.content["secretKey"]["alg"] == 3
    assert world.backbone.kept == {}  # ephemeral by default


def test_a_file_without_expiry_gives_the_upstream_default(world: World) -> None:
    world.records.files["FILabcdefghij0123456"] = FileRecord("FILabcdefghij0123456", generate_key())
    token = world.creation.for_file(file_request("FILabcdefghij0123456"), BASE_URL)
    assert token.details.expires_at == NEVER_EXPIRES


def test_the_request_expiry_wins_and_a_kept_token_is_kept(world: World) -> None:
    world.records.files["FILabcdefghij0123456"] = FileRecord("FILabcdefghij0123456", generate_key(), NOW)
    wanted = datetime(2099, 1, 1, tzinfo=UTC)
    request = file_request("FILabcdefghij0123456", expiresAt="2099-01-01T00:00:00Z", ephemeral=False)
    error = refusal(world.creation.for_file, request, BASE_URL)  # the File expired at NOW: not found
    assert error.kind is ErrorKind.FILE_NOT_FOUND
    world.records.files["FILabcdefghij0123456"] = FileRecord("FILabcdefghij0123456", generate_key())
    kept = world.creation.for_file(request, BASE_URL)
    assert kept.details.expires_at == wanted and world.backbone.kept == {kept.id: kept}


def test_a_missing_file_is_404_and_nothing_is_published(world: World) -> None:
    error = refusal(world.creation.for_file, file_request("FILabcdefghij0123456"), BASE_URL)
    assert error.status == 404 and error.message.startswith("File not found.")
    assert world.backbone.published == {}


def test_the_password_travels_only_as_a_hash_with_a_fresh_salt(world: World) -> None:
    world.records.files["FILabcdefghij0123456"] = FileRecord("FILabcdefghij0123456", generate_key())
    request = file_request("FILabcdefghij0123456", passwordProtection={"password": "1234", "passwordIsPin": True})
    first = world.creation.for_file(request, BASE_URL)
    second = world.creation.for_file(request, BASE_URL)
    (write, _), (other, _) = world.backbone.published.values()
    assert first.details.password is not None and second.details.password is not None
    assert first.details.password.salt != second.details.password.salt
    assert write.draft.password_hash == derive_password_hash("1234", first.details.password.salt)
    assert first.reference.password_protection is not None
    assert first.reference.password_protection.password_type == "pin4"
    assert other.draft.password_hash != write.draft.password_hash


# --- SPEC §3.2: own RelationshipTemplate, the checks in order -------------------------------------------


def test_template_rules_in_order(world: World) -> None:
    protection = StoredPasswordProtection("pw1", "pw", generate_salt(), 2)
    template = TemplateRecord("RLTabcdefghij0123456", generate_key(), None, False, ADDRESS, protection)
    world.records.templates[template.id] = template
    request = template_request(template.id)
    assert refusal(world.creation.for_template, request, BASE_URL).kind is ErrorKind.PEER_TEMPLATE
    world.records.templates[template.id] = replace(template, is_own=True)
    error = refusal(world.creation.for_template, request, BASE_URL)
    assert error.kind is ErrorKind.PERSONALIZATION_MUST_BE_INHERITED
    personalised = template_request(template.id, forIdentity=ADDRESS)
    error = refusal(world.creation.for_template, personalised, BASE_URL)
    assert error.kind is ErrorKind.PASSWORD_PROTECTION_MUST_BE_INHERITED
    wrong_indicator = template_request(
        template.id, forIdentity=ADDRESS, passwordProtection={"password": "pw1", "passwordLocationIndicator": "Self"}
    )
    error = refusal(world.creation.for_template, wrong_indicator, BASE_URL)
    assert error.kind is ErrorKind.PASSWORD_PROTECTION_MUST_BE_INHERITED
    inherited = template_request(
        template.id, forIdentity=ADDRESS, passwordProtection={"password": "pw1", "passwordLocationIndicator": "Letter"}
    )
    token = world.creation.for_template(inherited, BASE_URL)
    content = token.details.content
    assert content["forIdentity"] == ADDRESS and content["templateId"] == template.id
    assert content["passwordProtection"]["passwordType"] == "pw"
    assert content["passwordProtection"]["passwordLocationIndicator"] == 2
    assert "pw1" not in json.dumps(content)  # the template's salt and type travel, never its password
    assert list(world.backbone.published) == [token.id]  # only the last request published anything


def test_an_expired_template_is_not_found_before_any_rule(world: World) -> None:
    template = TemplateRecord("RLTabcdefghij0123456", generate_key(), NOW - timedelta(seconds=1), is_own=False)
    world.records.templates[template.id] = template
    error = refusal(world.creation.for_template, template_request(template.id), BASE_URL)
    assert error.kind is ErrorKind.TEMPLATE_NOT_FOUND


def test_a_free_template_leaves_the_token_its_own_protection(world: World) -> None:
    template = TemplateRecord("RLTabcdefghij0123456", generate_key())
    world.records.templates[template.id] = template
    request = template_request(template.id, forIdentity=ADDRESS, passwordProtection={"password": "mine"})
    token = world.creation.for_template(request, BASE_URL)
    assert token.details.for_identity == ADDRESS and token.details.password is not None
    assert "passwordProtection" not in token.details.content and "forIdentity" not in token.details.content


# --- bulk creation: exactly once per command ------------------------------------------------------------


@pytest.fixture
def batch(world: World) -> tuple[BatchTokenCreator, MemoryOutputs]:
    world.records.files["FILabcdefghij0123456"] = FileRecord("FILabcdefghij0123456", generate_key())
    outputs = MemoryOutputs()
    log = MemoryCommandLog(world.backbone.commands)  # one store: the backbone writes the records it logs
    creator = BatchTokenCreator(world.creation, log, outputs, BASE_URL, QrForm.URL, clock=lambda: NOW)
    return creator, outputs


def message(message_id: str, **body: Any) -> Message:
    return Message(message_id, json.dumps({"fileId": "FILabcdefghij0123456", **body}))


def test_a_redelivered_command_creates_nothing_new(world: World, batch: tuple[BatchTokenCreator, Any]) -> None:
    creator, outputs = batch
    assert creator.process(message("m-1", qrCode=True, idempotencyKey="k")) is Outcome.CREATED
    written = dict(outputs.objects)
    assert creator.process(message("m-2", qrCode=True, idempotencyKey="k")) is Outcome.DUPLICATE
    assert len(world.backbone.published) == 1 and outputs.objects == written
    assert sorted(key.rsplit(".", 1)[1] for key in written) == ["json", "png"]


def test_a_crash_before_the_outputs_resumes_with_the_same_token(
    world: World, batch: tuple[BatchTokenCreator, MemoryOutputs]
) -> None:
    creator, outputs = batch
    outputs.failing = True
    with pytest.raises(ConnectionResetError):
        creator.process(message("m-1"))
    (token_id,) = world.backbone.published
    outputs.failing = False
    assert creator.process(message("m-1")) is Outcome.RESUMED
    assert list(outputs.objects) == [f"tokens/{token_id}.json"] and len(world.backbone.published) == 1
    record = world.backbone.commands["sqs:m-1"]
    assert record.done and record.token is None  # the token's secrets are forgotten once written


def test_a_concurrent_delivery_that_lost_the_race_joins_the_result(
    world: World, batch: tuple[BatchTokenCreator, MemoryOutputs]
) -> None:
    creator, outputs = batch
    assert creator.process(message("m-1", idempotencyKey="k")) is Outcome.CREATED
    real_get = creator.log.get
    looks: list[str] = []

    def blind_once(key: str) -> CommandRecord | None:  # read before the other delivery wrote
        looks.append(key)
        return None if len(looks) == 1 else real_get(key)

    creator.log.get = blind_once  # type: ignore[method-assign]
    assert creator.process(message("m-2", idempotencyKey="k")) is Outcome.DUPLICATE
    assert len(world.backbone.published) == 1


def test_a_permanent_failure_is_written_once_and_not_retried(
    world: World, batch: tuple[BatchTokenCreator, MemoryOutputs]
) -> None:
    creator, outputs = batch
    refused = Message("m-1", json.dumps({"fileId": "FILabcdefghij0123457"}))
    assert creator.process(refused) is Outcome.REFUSED
    error = json.loads(outputs.objects["tokens/errors/m-1.json"])["error"]
    assert error["code"] == "error.runtime.recordNotFound"
    assert creator.process(refused) is Outcome.DUPLICATE
    assert world.backbone.published == {}


def test_a_transient_failure_propagates_for_a_retry(world: World, batch: tuple[BatchTokenCreator, Any]) -> None:
    creator, outputs = batch

    def unavailable(write: TokenWrite) -> Token:
        raise DomainError(ErrorKind.SERVICE_UNAVAILABLE)

    world.backbone.publish = unavailable  # type: ignore[method-assign]
    with pytest.raises(DomainError):
        creator.process(message("m-1"))
    assert outputs.objects == {} and world.backbone.commands == {}
