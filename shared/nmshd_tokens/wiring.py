"""Builds the adapters once per process (a warm Lambda reuses them) from the configuration."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Protocol

from .config import ConfigError, Settings
from .domain.models import ServiceIdentity
from .storage.dynamodb import DynamoBackbone, DynamoRecordsRepository
from .storage.ports import PeerTokenReader, TokenPublisher
from .storage.secrets import CredentialSource, SecretsManagerCredentials, StaticCredentials
from .usecases.create_token import TokenService


class Backbone(TokenPublisher, PeerTokenReader, Protocol):
    """Where tokens are published and read: the embedded DynamoDB backbone or a remote Backbone."""


@lru_cache(maxsize=1)
def settings() -> Settings:
    return Settings.from_env()


@lru_cache(maxsize=1)
def records() -> DynamoRecordsRepository:
    return DynamoRecordsRepository(settings().records_table)


@lru_cache(maxsize=1)
def backbone() -> Backbone:
    """Chosen by BACKBONE_MODE; one per process, so a warm Lambda keeps the remote login and connection."""
    config = settings()
    if config.backbone_mode == "remote" and config.backbone_base_url:
        from .storage.remote_backbone import RemoteBackbone  # only remote mode pays for its imports

        return RemoteBackbone(config.backbone_base_url, credential_source(config), records())
    return DynamoBackbone(config.backbone_table, config.records_table)


def prepare_clients() -> None:
    """Build the DynamoDB client now, in a function's init, instead of in its first request (see http.api)."""
    _ = records().client  # every adapter gets this one client: storage.dynamodb.dynamodb_client caches it


def credential_source(config: Settings) -> CredentialSource:
    """The Secrets Manager secret (read on first use) when configured, else the environment's credentials."""
    if config.backbone_credentials_secret:
        return SecretsManagerCredentials(config.backbone_credentials_secret)
    if config.backbone_credentials is None:  # Settings.from_env already refuses this
        raise ConfigError("BACKBONE_MODE 'remote' needs BACKBONE_CREDENTIALS_SECRET or the BACKBONE_* credentials")
    return StaticCredentials(config.backbone_credentials)


def token_service(default_backbone_base_url: str) -> TokenService:
    config = settings()
    return TokenService(
        records=records(),
        publisher=backbone(),
        identity=ServiceIdentity(config.service_address, config.device_id),
        backbone_base_url=config.backbone_base_url or default_backbone_base_url,
    )


def reset() -> None:
    """Forget cached configuration and adapters (tests and the local server change the environment)."""
    for cached in (settings, records, backbone):
        cached.cache_clear()


# --- event-driven use (issue #6): direct invocations and SQS batches ------------------------------------------

if TYPE_CHECKING:  # imported where used: the API functions do not load the batch code
    from .usecases.batch import BatchTokenCreator

OUTPUT_BUCKET_VARIABLE = "TOKEN_OUTPUT_BUCKET"


def command_backbone_base_url() -> str:
    """A command has no request to derive the API's URL from, so BACKBONE_BASE_URL must be configured."""
    base_url = settings().backbone_base_url
    if not base_url:
        raise ConfigError(
            "BACKBONE_BASE_URL must be set for direct invocations and queued commands (the API's URL + /backbone, "
            "e.g. the stack output BackboneBaseUrl; in template.yaml: the BackboneBaseUrl parameter)"
        )
    return base_url


def batch_token_creator() -> BatchTokenCreator:
    """Built per batch from the cached adapters (cheap)."""
    import os

    from .storage.idempotency import DynamoCommandLog
    from .storage.outputs_s3 import S3OutputStore
    from .usecases.batch import BatchTokenCreator

    bucket = os.environ.get(OUTPUT_BUCKET_VARIABLE) or ""
    if not bucket:
        raise ConfigError(f"{OUTPUT_BUCKET_VARIABLE} must name the S3 bucket that receives the tokens")
    config = settings()
    return BatchTokenCreator(
        service=token_service(command_backbone_base_url()),
        log=DynamoCommandLog(config.records_table),
        outputs=S3OutputStore(bucket),
        qr_default_format=config.qr_format,
    )
