"""The use cases on small in-memory fakes of their ports: SPEC §3's rules, bulk creation's exactly-once logic, the
kept tokens (read, list, revoke), the peer's load, health and version, and commands.

No sockets, no moto: what is checked here is the use cases' own logic. The same rules are also checked through the
handlers on moto (tests/integration), which is where storage behaviour is tested.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from nmshd_tokens.domain.clock import format_timestamp
from nmshd_tokens.domain.connector import QrForm
from nmshd_tokens.domain.crypto import decrypt_content, derive_password_hash, generate_key, generate_salt
from nmshd_tokens.domain.encoding import b64_encode, b64url_encode
from nmshd_tokens.domain.errors import DomainError, ErrorKind, validation_error
from nmshd_tokens.domain.files_and_templates import NEVER_EXPIRES, FileRecord, StoredPasswordProtection, TemplateRecord
from nmshd_tokens.domain.references import parse_reference
from nmshd_tokens.domain.tokens import Token
from nmshd_tokens.domain.validation import parse_token_request
from nmshd_tokens.usecases import kept_tokens
from nmshd_tokens.usecases.batch import BatchTokenCreator, Message, Outcome
from nmshd_tokens.usecases.commands import TokenCommands, command_kind, parse_command
from nmshd_tokens.usecases.create_token import ServiceIdentity, TokenCreation
from nmshd_tokens.usecases.kept_tokens import KeptTokens, TokenRevocation
from nmshd_tokens.usecases.peer_loading import PeerLoading
from nmshd_tokens.usecases.ports import CommandAlreadyRecorded, CommandRecord, TokenWrite
from nmshd_tokens.usecases.service_status import BuildInfo, Health

from tests.support import decode_qr

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


# --- kept tokens: read, list and query, revoke ------------------------------------------------------------


@dataclass
class MemoryKeptTokens:
    """The kept tokens' records, and a backbone that revokes: a revoke removes the token from both, unless the
    backbone refuses (then both keep it)."""

    records: dict[str, Token]
    published: set[str]
    refusal: DomainError | None = None

    def get_token(self, token_id: str) -> Token | None:
        return self.records.get(token_id)

    def tokens(self, created_from: str | None = None, created_to: str | None = None) -> Iterator[Token]:
        return self._kept(True, created_from, created_to)

    def peer_tokens(self, created_from: str | None = None, created_to: str | None = None) -> Iterator[Token]:
        return self._kept(False, created_from, created_to)

    def _kept(self, own: bool, created_from: str | None, created_to: str | None) -> Iterator[Token]:
        for token in sorted(self.records.values(), key=lambda token: (token.created_at, token.id)):
            created = format_timestamp(token.created_at)
            if token.details.is_own != own:
                continue
            if (created_from is None or created >= created_from) and (created_to is None or created <= created_to):
                yield token

    def delete_token(self, token_id: str) -> None:
        del self.records[token_id]

    def revoke(self, token: Token) -> None:
        if self.refusal is not None:
            raise self.refusal
        self.published.discard(token.id)
        del self.records[token.id]


@pytest.fixture
def kept(world: World) -> MemoryKeptTokens:
    """Three kept tokens, a minute apart, created through the creation use case; one ephemeral token besides."""
    world.records.files["FILabcdefghij0123456"] = FileRecord("FILabcdefghij0123456", generate_key())
    bodies: list[dict[str, Any]] = [
        {},
        {"forIdentity": ADDRESS},
        {"passwordProtection": {"password": "1234", "passwordIsPin": True}},
    ]
    for body in bodies:
        world.creation.for_file(file_request("FILabcdefghij0123456", ephemeral=False, **body), BASE_URL)
    world.creation.for_file(file_request("FILabcdefghij0123456"), BASE_URL)
    minutes = {token_id: index for index, token_id in enumerate(world.backbone.kept)}
    records = {
        token_id: replace(token, created_at=NOW + timedelta(minutes=minutes[token_id]))
        for token_id, token in world.backbone.kept.items()
    }
    return MemoryKeptTokens(records, set(world.backbone.published))


def test_a_kept_token_reads_back_and_an_unknown_or_ephemeral_one_is_not_found(
    world: World, kept: MemoryKeptTokens
) -> None:
    reader = KeptTokens(kept)
    for token_id, token in kept.records.items():
        assert reader.get(token_id) is token
    (ephemeral,) = set(world.backbone.published) - set(kept.records)
    for token_id in (ephemeral, "TOKunknown0000000000"):
        assert refusal(reader.get, token_id).kind is ErrorKind.TOKEN_RECORD_NOT_FOUND
    malformed = refusal(reader.get, "TOKshort")
    assert (malformed.status, malformed.message) == (400, "id must match pattern TOK[A-Za-z0-9]{17}")


def test_own_tokens_are_listed_oldest_first_and_filtered_by_the_query(kept: MemoryKeptTokens) -> None:
    reader = KeptTokens(kept)
    plain, personal, pin = sorted(kept.records.values(), key=lambda token: token.created_at)
    assert reader.own({}) == [plain, personal, pin]
    assert reader.own({"forIdentity": [ADDRESS]}) == [personal]
    assert reader.own({"passwordProtection": [""]}) == [pin]
    assert reader.own({"passwordProtection": ["!"]}) == [plain, personal]
    second = format_timestamp(personal.created_at)
    assert reader.own({"createdAt": [f">={second}"]}) == [personal, pin]
    assert reader.own({"createdAt": [f">{second}", f"<{second}"]}) == []  # an empty range
    error = refusal(reader.own, {"id": ["TOKx"]})
    assert (error.status, error.message) == (400, "query must NOT have additional properties")


def test_a_query_that_would_examine_too_many_tokens_is_refused(
    kept: MemoryKeptTokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kept_tokens, "MAX_TOKENS_EXAMINED", 2)
    reader = KeptTokens(kept)
    assert refusal(reader.own, {"passwordProtection": ["!"]}).kind is ErrorKind.QUERY_TOO_BROAD
    # Narrowed by createdAt, the store is searched for two tokens only.
    newest_two = sorted(kept.records.values(), key=lambda token: token.created_at)[1:]
    narrowed = {"createdAt": [f">={format_timestamp(newest_two[0].created_at)}"]}
    assert reader.own(narrowed) == newest_two


def as_peer_token(token: Token, created_by: str) -> Token:
    return replace(token, details=replace(token.details, is_own=False, created_by=created_by))


def test_peer_tokens_are_listed_apart_from_own_ones_with_the_query_checked(kept: MemoryKeptTokens) -> None:
    reader = KeptTokens(kept)
    assert reader.peer({}) == [] and reader.peer({"createdBy": [IDENTITY.address]}) == []
    first, second = list(kept.records)[:2]
    kept.records[first] = as_peer_token(kept.records[first], "did:e:peer:dids:0000")
    assert reader.peer({}) == [kept.records[first]] and first not in [token.id for token in reader.own({})]
    assert reader.peer({"createdBy": [IDENTITY.address]}) == [] and second in [token.id for token in reader.own({})]
    assert refusal(reader.peer, {"nope": ["x"]}).message == "query must NOT have additional properties"


def test_revoking_a_peer_token_forgets_its_record_only(kept: MemoryKeptTokens) -> None:
    token_id = next(iter(kept.records))
    kept.records[token_id] = as_peer_token(kept.records[token_id], "did:e:peer:dids:0000")
    kept.refusal = DomainError(ErrorKind.UNEXPECTED)  # the backbone is never asked
    TokenRevocation(kept, kept).revoke(token_id)
    assert token_id not in kept.records and token_id in kept.published


def test_revoke_removes_the_token_from_the_backbone_and_its_record(kept: MemoryKeptTokens) -> None:
    revocation = TokenRevocation(kept, kept)
    token_id = next(iter(kept.records))
    revocation.revoke(token_id)
    assert token_id not in kept.records and token_id not in kept.published
    assert refusal(revocation.revoke, token_id).kind is ErrorKind.TOKEN_RECORD_NOT_FOUND  # gone: a second is 404


def test_an_ephemeral_unknown_or_malformed_token_is_not_revoked(world: World, kept: MemoryKeptTokens) -> None:
    revocation = TokenRevocation(kept, kept)
    published = set(kept.published)
    (ephemeral,) = published - set(kept.records)
    for token_id in (ephemeral, "TOKunknown0000000000"):
        assert refusal(revocation.revoke, token_id).kind is ErrorKind.TOKEN_RECORD_NOT_FOUND
    malformed = refusal(revocation.revoke, "nope")
    assert (malformed.status, malformed.message) == (400, "tokenId must match pattern TOK[A-Za-z0-9]{17}")
    assert kept.published == published  # the ephemeral token is still on the backbone, to expire there


def test_a_backbone_refusal_keeps_the_record(kept: MemoryKeptTokens) -> None:
    kept.refusal = DomainError(ErrorKind.UNEXPECTED, code="error.platform.forbidden", status=403)
    revocation = TokenRevocation(kept, kept)
    token_id = next(iter(kept.records))
    assert refusal(revocation.revoke, token_id).code == "error.platform.forbidden"
    assert token_id in kept.records and token_id in kept.published


# --- the peer's load: GET /backbone/api/v2/Tokens/{id}[?password=] -----------------------------------------


PASSWORD_HASH = bytes(range(200, 232))  # its standard base64 has '+' and '/', its url-safe form '-' and '_'


@dataclass
class MemoryPeerBackbone:
    """One protected token: the right hash gets its content, anything else is "not found", as the Backbone."""

    token_id: str = "TOKabcdefghij0123456"
    asked: int = 0

    def fetch_for_peer(self, token_id: str, password_hash: bytes | None) -> dict[str, Any]:
        self.asked += 1
        if token_id != self.token_id or password_hash != PASSWORD_HASH:
            raise DomainError(ErrorKind.TOKEN_NOT_FOUND)
        return {"id": token_id, "content": "cipher"}

    def exists(self, token_id: str) -> bool:
        self.asked += 1
        return token_id == self.token_id


@pytest.mark.parametrize(
    "parameter",
    [
        b64_encode(PASSWORD_HASH),
        b64url_encode(PASSWORD_HASH),  # the Backbone reads either form
        b64_encode(PASSWORD_HASH).replace("+", " "),  # a '+' that was not percent-encoded arrives as a space
    ],
    ids=["standard", "url-safe", "plus as space"],
)
def test_the_right_password_hash_in_any_form_the_backbone_reads_loads_the_token(parameter: str) -> None:
    backbone = MemoryPeerBackbone()
    assert PeerLoading(backbone).load(backbone.token_id, parameter) == {
        "id": backbone.token_id,
        "content": "cipher",
    }


@pytest.mark.parametrize(
    "parameter",
    [None, "", b64_encode(b"wrong" * 6), "not base64 at all!", b64_encode(PASSWORD_HASH) * 10],
    ids=["none", "empty", "wrong", "unreadable", "too long"],
)
def test_a_missing_wrong_or_unreadable_password_is_not_found(parameter: str | None) -> None:
    backbone = MemoryPeerBackbone()
    error = refusal(PeerLoading(backbone).load, backbone.token_id, parameter)
    assert error.kind is ErrorKind.TOKEN_NOT_FOUND


def test_a_malformed_token_id_is_not_found_without_asking_the_backbone() -> None:
    backbone = MemoryPeerBackbone()
    error = refusal(PeerLoading(backbone).load, "TOKshort", b64_encode(PASSWORD_HASH))
    assert error.kind is ErrorKind.TOKEN_NOT_FOUND
    assert PeerLoading(backbone).exists("TOKshort") is False
    assert backbone.asked == 0
    assert PeerLoading(backbone).exists(backbone.token_id) is True
    assert PeerLoading(backbone).exists("TOKunknown0000000000") is False


# --- health and version -----------------------------------------------------------------------------------


@pytest.mark.parametrize("failing", [None, "database", "backboneConnection", "backboneAuthentication"])
def test_health_names_the_dependency_that_does_not_answer(failing: str | None) -> None:
    def probe(name: str) -> Any:
        return lambda: name != failing

    health = Health(probe("database"), probe("backboneConnection"), probe("backboneAuthentication"))
    report = health.report()
    assert report["isHealthy"] is (failing is None)
    assert report["services"] == {
        name: "unhealthy" if name == failing else "healthy"
        for name in ("database", "backboneConnection", "backboneAuthentication")
    }


def test_the_version_report_has_the_connectors_shape() -> None:
    report = BuildInfo("1.2.3", "build-7", "2030-01-01", "0123abc").report()
    assert list(report) == ["version", "build", "date", "commit", "runtimeVersion", "modules"]
    assert report | {"runtimeVersion": ""} == {
        "version": "1.2.3",
        "build": "build-7",
        "date": "2030-01-01",
        "commit": "0123abc",
        "runtimeVersion": "",
        "modules": {},
    }
    assert report["runtimeVersion"].count(".") == 2  # the Python runtime's version


# --- commands: the creation use cases driven by an event ----------------------------------------------------


def test_a_command_answers_the_token_dto(world: World) -> None:
    world.records.files["FILabcdefghij0123456"] = FileRecord("FILabcdefghij0123456", generate_key())
    command = {"fileId": "FILabcdefghij0123456", "ephemeral": False}
    result = TokenCommands(world.creation, QrForm.URL, lambda: BASE_URL).run(command, "fileId")
    assert set(result) == {"result"}
    (token_id,) = world.backbone.kept
    assert result["result"] == world.backbone.kept[token_id].to_dto()
    assert result["result"]["reference"]["url"].startswith(f"{BASE_URL}/r/{token_id}#")


@pytest.mark.parametrize(
    ("default", "flag", "legacy"),
    [(QrForm.URL, None, False), (QrForm.LEGACY, None, True), (QrForm.LEGACY, True, False), (QrForm.URL, False, True)],
)
def test_a_qr_code_command_answers_an_ephemeral_token_and_its_png(
    world: World, default: QrForm, flag: bool | None, legacy: bool
) -> None:
    template = TemplateRecord("RLTabcdefghij0123456", generate_key())
    world.records.templates[template.id] = template
    command: dict[str, Any] = {"templateId": template.id, "qrCode": True, "ephemeral": False}
    if flag is not None:
        command["newQRCodeFormat"] = flag
    result = TokenCommands(world.creation, default, lambda: BASE_URL).run(command, "templateId")
    assert result["result"]["isEphemeral"] is True and world.backbone.kept == {}  # a QR code's token is ephemeral
    text = decode_qr(base64.b64decode(result["qrCodePng"]))
    assert text.startswith("nmshd://tr#" if legacy else f"{BASE_URL}/r/")
    assert parse_reference(text).id == result["result"]["id"]


def test_a_refused_command_publishes_nothing(world: World) -> None:
    commands = TokenCommands(world.creation, QrForm.URL, lambda: BASE_URL)
    error = refusal(commands.run, {"fileId": "FILabcdefghij0123456"}, "fileId")
    assert error.kind is ErrorKind.FILE_NOT_FOUND and world.backbone.published == {}


def test_a_command_is_checked_as_the_http_route_checks_a_body() -> None:
    assert refusal(parse_command, ["not", "an", "object"], QrForm.URL).kind is ErrorKind.INVALID_JSON
    # qrCode first, as Accept comes before the body over HTTP.
    error = refusal(parse_command, {"fileId": "bad", "qrCode": "yes"}, QrForm.URL)
    assert error.message == validation_error("qrCode must be boolean").message
    error = refusal(parse_command, {"fileId": "FILabcdefghij0123456", "templateId": "RLTabcdefghij0123456"}, QrForm.URL)
    assert error.message == "must NOT have both properties 'fileId' and 'templateId'"
    assert command_kind({"templateId": "RLTabcdefghij0123456"}) == "templateId"
    assert command_kind({"fileId": "FILabcdefghij0123456"}) == command_kind({}) == "fileId"
    command = parse_command({"templateId": "RLTabcdefghij0123456", "qrCode": True}, QrForm.LEGACY)
    assert (command.id_field, command.wants_qr_code, command.request.qr_form) == ("templateId", True, QrForm.LEGACY)
