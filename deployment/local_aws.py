"""The AWS side of an emulated invocation: a moto server on loopback with the stack's tables and buckets, seeded
with the records that the sample events in events/ name.

    with LocalAws(stack) as aws:
        invoke(function, event, aws.endpoint)
"""

from __future__ import annotations

import json
import logging
import socket
import urllib.request
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .lambda_emulator import LOCAL_CREDENTIALS
from .template_values import LOCAL_ACCOUNT, LOCAL_API_ID, LOCAL_REGION, Stack

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_s3.client import S3Client
    from nmshd_tokens.domain.tokens import TokenDetails

HOST = "127.0.0.1"
# The ids the sample events use (events/README.md): a File, an own unprotected template, a published token protected
# by the SPEC §5 Argon2id vector (password "password", salt "a16byteslongsalt") and a kept, unprotected token.
DEMO_FILE_ID = "FILdemo0000000000001"
DEMO_TEMPLATE_ID = "RLTdemo0000000000001"
DEMO_TOKEN_ID = "TOKdemo0000000000001"  # noqa: S105 - a token id, not a secret
DEMO_TOKEN_PASSWORD_HASH = "ekuqHFfmPl4WctZWzhqJQx/m0A0aS0JeQF1vAVsbuZA="  # noqa: S105 - the public SPEC vector
DEMO_KEPT_TOKEN_ID = "TOKdemoKept000000001"  # noqa: S105 - a token id, not a secret
DEMO_KEPT_CREATED_AT = datetime(2026, 1, 1, tzinfo=UTC)
# A token another identity published, for the peer-loading sample: its key and salt are public demo values, its
# password the SPEC §5 vector's ("password", salt "a16byteslongsalt": the hash above).
DEMO_PEER_TOKEN_ID = "TOKdemoPeer000000001"  # noqa: S105 - a token id, not a secret
DEMO_PEER_TOKEN_KEY = b"public demo key of a peer token!"  # 32 bytes
DEMO_PEER_TOKEN_SALT = b"a16byteslongsalt"
DEMO_PEER_ADDRESS = "did:e:localhost:dids:0000000000000000beefe5"
DEMO_EXPIRY = datetime(2100, 1, 1, tzinfo=UTC)
# The backbone the sample events' Host names (the local stack's API id): the kept token's reference points there.
DEMO_BACKBONE_BASE_URL = f"https://{LOCAL_API_ID}.execute-api.{LOCAL_REGION}.amazonaws.com/v1/backbone"

# The API keys the authorizer's sample events meet (SPEC §17): one secret in the Connector's shape. Its partial ARN
# (Secrets Manager reads a secret by its ARN without the random suffix) is the ApiKeysSecretArn to invoke it with.
DEMO_API_KEY = "Demo-Api-Key-0123456789-for-the-sample-Events!"  # noqa: S105 - the sample events' public demo key
DEMO_API_KEYS_SECRET_NAME = "nmshd-tokens/demo-api-keys"  # noqa: S105 - a secret's name
DEMO_API_KEYS_SECRET_ARN = f"arn:aws:secretsmanager:{LOCAL_REGION}:{LOCAL_ACCOUNT}:secret:{DEMO_API_KEYS_SECRET_NAME}"
DEMO_API_KEYS = {
    "headerName": "X-API-KEY",
    "keys": {"demo": {"key": DEMO_API_KEY, "description": "the sample events' key", "scopes": ["core:*"]}},
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


class LocalAws:
    """moto's server in a thread of this process, for the resources of one stack; stopped on exit."""

    def __init__(self, stack: Stack, *, seed: bool = True) -> None:
        self.stack = stack
        self.seed = seed
        self.port = free_port()
        self.seeded: list[str] = []
        self._server: Any = None

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.port}"

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(
            service,  # type: ignore[call-overload]
            endpoint_url=self.endpoint,
            region_name=self.stack.region,
            aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )

    def __enter__(self) -> LocalAws:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # it logs every request moto serves
        self._server = ThreadedMotoServer(ip_address=HOST, port=self.port, verbose=False)
        self._server.start()
        try:
            self.reset()
            self.create_resources()
            if self.seed:
                self.seeded = self.seed_demo_records()
        except BaseException:
            self.__exit__(None, None, None)  # `with` does not call it when __enter__ fails
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def reset(self) -> None:
        """moto keeps its state per process, not per server: start from nothing, whatever ran here before."""
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")  # noqa: S310 - loopback
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - our own loopback server
            response.read()

    def create_resources(self) -> None:
        """The stack's DynamoDB tables (definitions from the template) and S3 buckets."""
        from nmshd_tokens_local.tables import create_tables

        create_tables(self.dynamodb, self.stack.resources_of_type("AWS::DynamoDB::Table"), self.stack.template)
        s3: S3Client = self.client("s3")
        for bucket in self.stack.resources_of_type("AWS::S3::Bucket").values():
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": self.stack.region})  # type: ignore[typeddict-item]

    @property
    def dynamodb(self) -> DynamoDBClient:
        client: DynamoDBClient = self.client("dynamodb")
        return client

    def seed_demo_records(self) -> list[str]:
        """The demo API keys' secret; the demo File and template in the records table; in the backbone table, if
        there is one, the protected demo token and a kept token (whose record the records table holds too)."""
        from dataclasses import replace

        from nmshd_tokens.domain.crypto import generate_key
        from nmshd_tokens.domain.encoding import b64_decode
        from nmshd_tokens.domain.files_and_templates import FileRecord, TemplateRecord
        from nmshd_tokens.domain.tokens import Token, TokenDetails
        from nmshd_tokens.storage.records_table import DynamoRecordsRepository

        self.client("secretsmanager").create_secret(
            Name=DEMO_API_KEYS_SECRET_NAME, SecretString=json.dumps(DEMO_API_KEYS)
        )
        tables = self.stack.resources_of_type("AWS::DynamoDB::Table")
        records = DynamoRecordsRepository(tables["RecordsTable"], self.dynamodb)
        records.put_file(FileRecord(DEMO_FILE_ID, generate_key()))
        records.put_template(TemplateRecord(DEMO_TEMPLATE_ID, generate_key(), DEMO_EXPIRY))
        if "BackboneTable" not in tables:
            return [DEMO_FILE_ID, DEMO_TEMPLATE_ID]
        key = generate_key()
        content = {"@type": "TokenContentFile", "fileId": DEMO_FILE_ID}
        details = TokenDetails(
            content=content,
            secret_key=key,
            created_by=self.stack.parameters.get("ServiceAddress", ""),
            created_by_device=self.stack.parameters.get("ServiceDeviceId", ""),
            expires_at=DEMO_EXPIRY,
            backbone_base_url=DEMO_BACKBONE_BASE_URL,
            ephemeral=True,
        )
        password_hash = b64_decode(DEMO_TOKEN_PASSWORD_HASH)
        self._publish(tables["BackboneTable"], DEMO_TOKEN_ID, details, datetime.now(UTC), password_hash)
        kept = Token(DEMO_KEPT_TOKEN_ID, DEMO_KEPT_CREATED_AT, replace(details, ephemeral=False))
        self.dynamodb.put_item(TableName=tables["RecordsTable"], Item=records.token_item(kept))
        self._publish(tables["BackboneTable"], DEMO_KEPT_TOKEN_ID, kept.details, kept.created_at)
        peer = TokenDetails(
            content=content,
            secret_key=DEMO_PEER_TOKEN_KEY,
            created_by=DEMO_PEER_ADDRESS,
            created_by_device="DVCdemoPeer000000001",
            expires_at=DEMO_EXPIRY,
            backbone_base_url=DEMO_BACKBONE_BASE_URL,
            ephemeral=True,
        )
        self._publish(tables["BackboneTable"], DEMO_PEER_TOKEN_ID, peer, datetime.now(UTC), password_hash)
        return [DEMO_FILE_ID, DEMO_TEMPLATE_ID, DEMO_TOKEN_ID, DEMO_KEPT_TOKEN_ID, DEMO_PEER_TOKEN_ID]

    def _publish(
        self, table: str, token_id: str, details: TokenDetails, created_at: datetime, password_hash: bytes | None = None
    ) -> None:
        """A demo token on the embedded backbone: its content encrypted under its own key, as a publication does."""
        from nmshd_tokens.domain.crypto import encrypt_content
        from nmshd_tokens.domain.tokens import TokenDraft
        from nmshd_tokens.storage.embedded_backbone import backbone_item

        plaintext = json.dumps(details.content, separators=(",", ":")).encode()
        draft = TokenDraft(details, encrypt_content(plaintext, details.secret_key), password_hash)
        self.dynamodb.put_item(TableName=table, Item=backbone_item(draft, token_id, created_at))
