"""Configuration from the environment (SPEC §11): every setting has a working local default."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from .domain.ids import ADDRESS_PATTERN, DEVICE_ID_PATTERN, matches
from .domain.references import is_backbone_base_url
from .storage.secrets import ENV_VARIABLES, SECRET_VARIABLE, BackboneCredentials, CredentialsError

DEFAULT_SERVICE_ADDRESS = "did:e:localhost:dids:5e7a9f1c3b2d4e6f8a0b1c"
DEFAULT_DEVICE_ID = "DVCnmshdTokens000001"
DEFAULT_RECORDS_TABLE = "nmshd-tokens-records"
DEFAULT_BACKBONE_TABLE = "nmshd-tokens-backbone"


class ConfigError(ValueError):
    """A setting is wrong; the message names the environment variable."""


@dataclass(frozen=True)
class Settings:
    service_address: str = DEFAULT_SERVICE_ADDRESS
    device_id: str = DEFAULT_DEVICE_ID
    backbone_base_url: str | None = None
    records_table: str = DEFAULT_RECORDS_TABLE
    backbone_table: str = DEFAULT_BACKBONE_TABLE
    qr_format: Literal["url", "legacy"] = "url"
    # Issue #9: `embedded` (the DynamoDB backbone) or `remote` (a real Backbone at backbone_base_url).
    backbone_mode: Literal["embedded", "remote"] = "embedded"
    backbone_credentials_secret: str | None = None
    backbone_credentials: BackboneCredentials | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        address = env.get("SERVICE_ADDRESS") or DEFAULT_SERVICE_ADDRESS
        if not matches(ADDRESS_PATTERN, address):
            raise ConfigError(f"SERVICE_ADDRESS must be an enmeshed address matching {ADDRESS_PATTERN}")
        device_id = env.get("SERVICE_DEVICE_ID") or DEFAULT_DEVICE_ID
        if not matches(DEVICE_ID_PATTERN, device_id):
            raise ConfigError(f"SERVICE_DEVICE_ID must match {DEVICE_ID_PATTERN}")
        base_url = (env.get("BACKBONE_BASE_URL") or "").rstrip("/") or None
        if base_url is not None and not is_backbone_base_url(base_url):
            raise ConfigError("BACKBONE_BASE_URL must be an http(s) URL with a host and no '?', '#', '|' or '@'")
        qr_format = (env.get("QR_FORMAT") or "url").lower()
        if qr_format not in ("url", "legacy"):
            raise ConfigError("QR_FORMAT must be 'url' or 'legacy'")
        mode = (env.get("BACKBONE_MODE") or "embedded").lower()
        if mode not in ("embedded", "remote"):
            raise ConfigError("BACKBONE_MODE must be 'embedded' or 'remote'")
        secret, credentials = _remote_credentials(env, base_url) if mode == "remote" else (None, None)
        return cls(
            service_address=address,
            device_id=device_id,
            backbone_base_url=base_url,
            records_table=env.get("RECORDS_TABLE") or DEFAULT_RECORDS_TABLE,
            backbone_table=env.get("BACKBONE_TABLE") or DEFAULT_BACKBONE_TABLE,
            qr_format="legacy" if qr_format == "legacy" else "url",
            backbone_mode="remote" if mode == "remote" else "embedded",
            backbone_credentials_secret=secret,
            backbone_credentials=credentials,
        )


def _remote_credentials(env: Mapping[str, str], base_url: str | None) -> tuple[str | None, BackboneCredentials | None]:
    """Remote mode needs the Backbone's URL and the device's credentials: a secret (AWS) or four variables."""
    if base_url is None:
        raise ConfigError("BACKBONE_BASE_URL is required when BACKBONE_MODE is 'remote'")
    secret = env.get(SECRET_VARIABLE) or None
    if secret is not None:
        return secret, None
    try:
        credentials = BackboneCredentials.from_env(env)
    except CredentialsError as exc:
        raise ConfigError(str(exc)) from None
    if credentials is None:
        raise ConfigError(f"BACKBONE_MODE 'remote' needs {SECRET_VARIABLE} or all of {', '.join(ENV_VARIABLES)}")
    return None, credentials
