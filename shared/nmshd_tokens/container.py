"""The adapters of one process, built once from the settings at a function's init (a warm Lambda reuses them),
and every use case, built on them.

A handler module builds its container at import (`Container.from_environment()`); tests and the local server build
their own with `Container.from_settings`. Nothing else caches a client or a setting.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from .config import ConfigError, Settings
from .storage.aws_clients import aws_client
from .storage.embedded_backbone import DynamoBackbone
from .storage.records_table import DynamoRecordsRepository

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

    from .storage.connector_client import ConnectorClient
    from .storage.secrets import CredentialSource
    from .usecases.batch import BatchTokenCreator
    from .usecases.commands import TokenCommands
    from .usecases.create_token import TokenCreation
    from .usecases.kept_tokens import KeptTokens, TokenRevocation
    from .usecases.own_token import OwnTokenCreation
    from .usecases.peer_loading import PeerLoading
    from .usecases.peer_tokens import PeerTokenLoading
    from .usecases.ports import Backbone, RecordsRepository
    from .usecases.service_status import BuildInfo, Health


@dataclass(frozen=True)
class Container:
    settings: Settings
    records: DynamoRecordsRepository
    backbone: Backbone

    @classmethod
    def from_environment(cls) -> Container:
        return cls.from_settings(Settings.from_env())

    @classmethod
    def from_settings(cls, settings: Settings, dynamodb: DynamoDBClient | None = None) -> Container:
        """`dynamodb`: a client to use instead of a new one (tests that inject faults, the health check's)."""
        dynamodb = dynamodb or aws_client("dynamodb", settings.region)
        records = DynamoRecordsRepository(
            settings.records_table, dynamodb, retention_days=settings.token_retention_days
        )
        backbone: Backbone
        if settings.backbone_mode == "remote":
            from .storage.publication import PublicationRecords
            from .storage.remote_backbone import RemoteBackbone  # only remote mode pays for its imports

            backbone = RemoteBackbone(
                settings.remote_backbone_base_url(), credential_source(settings), PublicationRecords(records)
            )
        else:
            backbone = DynamoBackbone(settings.backbone_table, records, dynamodb)
        return cls(settings, records, backbone)

    # The use cases, built by the functions that run them, at their init; imported here, not above, so that a
    # function loads only what it runs (the embedded backbone's function never loads the crypto or the batch).

    def token_creation(self) -> TokenCreation:
        from .usecases.create_token import ServiceIdentity, TokenCreation

        identity = ServiceIdentity(self.settings.service_address, self.settings.device_id)
        return TokenCreation(self.token_records, self.backbone, identity)

    @cached_property
    def token_records(self) -> RecordsRepository:
        """Where creation loads Files and RelationshipTemplates: the table, read through from the Connector when one
        is configured (SPEC §15); one per instance, so its memory serves every request the instance answers."""
        if self.settings.connector_base_url is None:
            return self.records
        from .usecases.read_through import ReadThroughRecords  # only a configured Connector pays for its imports

        return ReadThroughRecords(
            self.records, self.connector(), self.settings.service_address, self.settings.records_cache_seconds
        )

    def connector(self) -> ConnectorClient:
        return connector_client(self.settings)

    def own_token_creation(self) -> OwnTokenCreation:
        """POST /Tokens/Own: the caller's content, published like every token."""
        from .usecases.create_token import ServiceIdentity
        from .usecases.own_token import OwnTokenCreation

        identity = ServiceIdentity(self.settings.service_address, self.settings.device_id)
        return OwnTokenCreation(self.backbone, identity)

    def token_commands(self) -> TokenCommands:
        """Creation invoked directly; a command needs BACKBONE_BASE_URL (ConfigError naming it, else)."""
        from .usecases.commands import TokenCommands

        settings = self.settings
        return TokenCommands(self.token_creation(), settings.qr_form, settings.command_backbone_base_url)

    def kept_tokens(self) -> KeptTokens:
        from .usecases.kept_tokens import KeptTokens

        return KeptTokens(self.records)

    def token_revocation(self) -> TokenRevocation:
        from .usecases.kept_tokens import TokenRevocation

        return TokenRevocation(self.records, self.backbone)

    def peer_loading(self) -> PeerLoading:
        from .usecases.peer_loading import PeerLoading

        return PeerLoading(self.backbone)

    def peer_token_loading(self) -> PeerTokenLoading:
        """POST /Tokens/Peer: the service loads a peer's token from its backbone (signed in, in remote mode)."""
        from .usecases.peer_tokens import PeerTokenLoading

        return PeerTokenLoading(self.records, self.backbone, self.settings.service_address)

    def health(self) -> Health:
        """One probe per dependency; remote mode asks the Backbone (version) and its login."""
        from .usecases.service_status import Health

        return Health(self.records.answers, self.backbone.check_version, self.backbone.check_login)

    def build_info(self) -> BuildInfo:
        from .usecases.service_status import BuildInfo
        from .version import VERSION

        return BuildInfo(VERSION, self.settings.build, self.settings.build_date, self.settings.commit)

    def batch_token_creator(self) -> BatchTokenCreator:
        """Bulk creation: needs TOKEN_OUTPUT_BUCKET and BACKBONE_BASE_URL (ConfigError naming them, else)."""
        from .storage.command_log import DynamoCommandLog
        from .storage.outputs_s3 import S3OutputStore
        from .usecases.batch import BatchTokenCreator

        settings = self.settings
        outputs = S3OutputStore(settings.required_output_bucket(), aws_client("s3", settings.region, read_timeout=10))
        return BatchTokenCreator(
            creation=self.token_creation(),
            log=DynamoCommandLog(settings.records_table, self.records.client),
            outputs=outputs,
            backbone_base_url=settings.command_backbone_base_url(),
            default_qr_form=settings.qr_form,
        )


def credential_source(settings: Settings) -> CredentialSource:
    """The Secrets Manager secret (read on first use) when configured, else the environment's credentials."""
    from .storage.secrets import SecretsManagerCredentials, StaticCredentials

    credentials = settings.remote_credentials()
    if isinstance(credentials, str):
        return SecretsManagerCredentials(
            credentials, lambda: aws_client("secretsmanager", settings.region, read_timeout=3)
        )
    return StaticCredentials(credentials)


def connector_client(settings: Settings) -> ConnectorClient:
    """The Connector's client (CONNECTOR_BASE_URL must be set); a key in a secret is read on first use."""
    from .storage.connector_client import ConnectorClient, SecretApiKey

    if settings.connector_base_url is None:
        raise ConfigError("CONNECTOR_BASE_URL must be set to read from a Connector")
    key = settings.connector_api_key
    if key is not None:
        static_key = key
        return ConnectorClient(settings.connector_base_url, lambda: static_key, settings.connector_api)
    secret = SecretApiKey(
        settings.connector_api_key_secret_arn or "",
        lambda: aws_client("secretsmanager", settings.region, read_timeout=3),
    )
    return ConnectorClient(settings.connector_base_url, secret.get, settings.connector_api)
