"""Every sample in events/ goes through its real handler (moto DynamoDB), so the samples never rot."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from nmshd_tokens.domain.crypto import encrypt_content, generate_key
from nmshd_tokens.domain.encoding import b64_decode
from nmshd_tokens.domain.files_and_templates import FileRecord, TemplateRecord
from nmshd_tokens.domain.references import parse_reference
from nmshd_tokens.domain.tokens import Token, TokenDetails, TokenDraft
from nmshd_tokens.storage.embedded_backbone import backbone_item
from nmshd_tokens.storage.records_table import DynamoRecordsRepository

from deployment.local_aws import DEMO_PEER_ADDRESS, DEMO_PEER_TOKEN_ID, DEMO_PEER_TOKEN_KEY
from tests.conftest import BACKBONE_TABLE, RECORDS_TABLE
from tests.support import ROOT, Functions, decode_qr, header, json_body, png_bytes

EVENTS = ROOT / "events"
# API Gateway samples: file → (function, expected status, expected content type)
API_SAMPLES = {
    "file_token_json": ("file_token", 201, "application/json"),
    "file_token_png": ("file_token", 201, "image/png"),
    "template_token_json": ("template_token", 201, "application/json"),
    "template_token_png": ("template_token", 201, "image/png"),
    "backbone_get_token": ("backbone_token", 404, "application/json"),  # protected: no password, not found
    "backbone_get_token_password": ("backbone_token", 200, "application/json"),
    "backbone_r_page": ("backbone_token", 200, "text/html"),
    "file_token_json_core_v1": ("file_token", 201, "application/json"),
    "own_token_json": ("own_token", 201, "application/json"),
    "token_get_json": ("token_read", 200, "application/json"),
    "token_get_png": ("token_read", 200, "image/png"),
    "tokens_own_query": ("token_read", 200, "application/json"),
    "tokens_peer": ("token_read", 200, "application/json"),
    "token_revoke": ("token_revoke", 204, ""),
    "token_revoke_v2": ("token_read", 405, "application/json"),
    "token_load_peer": ("peer_token", 201, "application/json"),
    "health": ("service_status", 200, "application/json"),
    "version": ("service_status", 200, "application/json"),
}
KEPT_TOKEN_ID = "TOKdemoKept000000001"
# Covered by tests/integration/test_commands.py (direct commands), test_batch.py (SQS) and test_api_authorizer.py
# (the API keys' authorizer).
OTHER_SAMPLES = {
    "api_authorizer",
    "api_authorizer_unknown_key",
    "file_token_command",
    "file_token_command_qr",
    "template_token_command",
    "template_token_command_qr",
    "token_batch_sqs",
}
# The SPEC §5 Argon2id vector: password "password", salt "a16byteslongsalt".
VECTOR_HASH = b64_decode("ekuqHFfmPl4WctZWzhqJQx/m0A0aS0JeQF1vAVsbuZA=")


def test_every_sample_is_covered() -> None:
    assert {path.stem for path in EVENTS.glob("*.json")} == set(API_SAMPLES) | OTHER_SAMPLES


@pytest.fixture
def demo(aws: Any, records: DynamoRecordsRepository) -> None:
    """The ids the samples use: a File, an own template, and a token protected by the SPEC vector's hash."""
    records.put_file(FileRecord("FILdemo0000000000001", generate_key()))
    records.put_template(TemplateRecord("RLTdemo0000000000001", generate_key(), datetime(2100, 1, 1, tzinfo=UTC)))
    key = generate_key()
    details = TokenDetails(
        content={"@type": "TokenContentFile"},
        secret_key=key,
        created_by="did:e:localhost:dids:5e7a9f1c3b2d4e6f8a0bcb",
        created_by_device="DVCnmshdTokens000001",
        expires_at=datetime(2100, 1, 1, tzinfo=UTC),
        backbone_base_url="https://backbone.example.com",
        ephemeral=True,
    )
    draft = TokenDraft(details, encrypt_content(b'{"@type":"TokenContentFile"}', key), VECTOR_HASH)
    item = backbone_item(draft, "TOKdemo0000000000001", datetime.now(UTC))
    aws.put_item(TableName=BACKBONE_TABLE, Item=item)
    # A kept token for the GET, list and revoke samples: its record and its backbone item.
    kept = Token(KEPT_TOKEN_ID, datetime(2026, 1, 1, tzinfo=UTC), replace(details, ephemeral=False))
    aws.put_item(TableName=RECORDS_TABLE, Item=records.token_item(kept))
    aws.put_item(TableName=BACKBONE_TABLE, Item=backbone_item(draft, KEPT_TOKEN_ID, kept.created_at))
    # Another identity's token with the demo peer token's public key, for the peer-loading sample.
    peer = replace(details, secret_key=DEMO_PEER_TOKEN_KEY, created_by=DEMO_PEER_ADDRESS)
    peer_cipher = encrypt_content(b'{"@type":"TokenContentFile"}', DEMO_PEER_TOKEN_KEY)
    peer_item = backbone_item(TokenDraft(peer, peer_cipher, VECTOR_HASH), DEMO_PEER_TOKEN_ID, datetime.now(UTC))
    aws.put_item(TableName=BACKBONE_TABLE, Item=peer_item)


@pytest.mark.parametrize("name", sorted(API_SAMPLES))
def test_api_gateway_sample(functions: Functions, demo: None, name: str) -> None:
    function, status, content_type = API_SAMPLES[name]
    event = json.loads((EVENTS / f"{name}.json").read_text(encoding="utf-8"))
    response = functions.invoke(function, event)
    assert response["statusCode"] == status, response.get("body")
    assert (header(response, "Content-Type") or "").startswith(content_type)
    if content_type == "image/png":
        reference = parse_reference(decode_qr(png_bytes(response)))
        assert reference.id.startswith("TOK")
    elif name.endswith(("_json", "_json_core_v1")):
        dto = json_body(response)["result"]
        assert dto["isEphemeral"] is False and dto["expiresAt"] in (
            "2099-01-01T00:00:00.000Z",
            "2100-01-01T00:00:00.000Z",
        )
    elif name == "backbone_get_token_password":
        assert json_body(response)["result"]["id"] == "TOKdemo0000000000001"
    elif name == "token_load_peer":
        dto = json_body(response)["result"]
        assert (dto["id"], dto["isOwn"], dto["createdBy"]) == (DEMO_PEER_TOKEN_ID, False, DEMO_PEER_ADDRESS)
        assert dto["content"] == {"@type": "TokenContentFile"}
    elif name == "tokens_own_query":
        assert [dto["id"] for dto in json_body(response)["result"]] == [KEPT_TOKEN_ID]
    elif name == "token_revoke":
        assert (
            functions.invoke("token_read", json.loads((EVENTS / "token_get_json.json").read_text()))["statusCode"]
            == 404
        )
    elif name in ("health", "version"):
        assert "error" not in json_body(response)
