"""The adapters of one process, built once from the settings at a function's init (a warm Lambda reuses them).

A handler module builds its container at import (`Container.from_environment()`); tests and the local server build
their own with `Container.from_settings`. Nothing else caches a client or a setting.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, cast

from .config import ConfigError, Settings
from .storage.aws_clients import aws_client
from .storage.embedded_backbone import DynamoBackbone
from .storage.records_table import DynamoRecordsRepository
from .usecases.ports import PeerTokenReader, TokenPublisher, TokenRevoker

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

    from .storage.remote_backbone import RemoteBackbone
    from .storage.secrets import CredentialSource
    from .usecases.batch import BatchTokenCreator
    from .usecases.create_token import TokenCreation
    from .usecases.service_status import BuildInfo, Health


class Backbone(TokenPublisher, PeerTokenReader, TokenRevoker, Protocol):
    """Where tokens are published, read and revoked: the embedded DynamoDB backbone or a remote Backbone."""


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
        """`dynamodb`: a client to use instead of a new one (tests that inject faults into it)."""
        dynamodb = dynamodb or aws_client("dynamodb", settings.region)
        records = DynamoRecordsRepository(
            settings.records_table, dynamodb, retention_days=settings.token_retention_days
        )
        backbone: Backbone
        if settings.backbone_mode == "remote" and settings.backbone_base_url:
            from .storage.remote_backbone import RemoteBackbone  # only remote mode pays for its imports

            backbone = RemoteBackbone(settings.backbone_base_url, credential_source(settings), records)
        else:
            backbone = DynamoBackbone(settings.backbone_table, records, dynamodb)
        return cls(settings, records, backbone)

    # The use cases are built by the functions that run them, at their init; imported here, not above, so that a
    # function loads only what it runs (the embedded backbone's function never loads the crypto or the batch).

    def token_creation(self) -> TokenCreation:
        from .usecases.create_token import ServiceIdentity, TokenCreation

        identity = ServiceIdentity(self.settings.service_address, self.settings.device_id)
        return TokenCreation(self.records, self.backbone, identity)

    def health(self) -> Health:
        """One probe per dependency; remote mode asks the Backbone (version) and its login."""
        from .usecases.service_status import Health

        backbone = self.backbone
        if isinstance(backbone, DynamoBackbone):  # embedded mode never imports the remote client
            return Health(self.records.answers, backbone.answers, lambda: True)  # no login: nothing to fail
        remote = cast("RemoteBackbone", backbone)  # the only other kind (from_settings)
        return Health(self.records.answers, remote.check_version, remote.check_login)

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

    if settings.backbone_credentials_secret:
        return SecretsManagerCredentials(
            settings.backbone_credentials_secret, lambda: aws_client("secretsmanager", settings.region, read_timeout=3)
        )
    if settings.backbone_credentials is None:  # Settings.from_env already refuses this
        raise ConfigError("BACKBONE_MODE 'remote' needs BACKBONE_CREDENTIALS_SECRET or the BACKBONE_* credentials")
    return StaticCredentials(settings.backbone_credentials)
