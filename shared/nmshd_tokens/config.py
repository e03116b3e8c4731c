"""Configuration from the environment (SPEC §11): every setting read and checked once, at a function's init.

Every setting has a working local default; a wrong one fails the cold start with a message naming its variable.
"""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, NamedTuple, cast
from urllib.parse import urlsplit

from .domain.connector import QrForm
from .domain.ids import ADDRESS_PATTERN, DEVICE_ID_PATTERN, matches
from .domain.references import is_backbone_base_url

DEFAULT_SERVICE_ADDRESS = "did:e:localhost:dids:5e7a9f1c3b2d4e6f8a0bcb"
DEFAULT_DEVICE_ID = "DVCnmshdTokens000001"
DEFAULT_RECORDS_TABLE = "nmshd-tokens-records"
DEFAULT_BACKBONE_TABLE = "nmshd-tokens-backbone"
DEFAULT_REGION = "eu-central-1"
DEFAULT_RETENTION_DAYS = 30
MAX_RETENTION_DAYS = 3650
OUTPUT_BUCKET_VARIABLE = "TOKEN_OUTPUT_BUCKET"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
BackboneMode = Literal["embedded", "remote"]
RETENTION_MESSAGE = f"TOKEN_RETENTION_DAYS must be a whole number of days from 0 to {MAX_RETENTION_DAYS}"
DEFAULT_RECORDS_CACHE_SECONDS = 300
MAX_RECORDS_CACHE_SECONDS = 86_400
CACHE_MESSAGE = f"RECORDS_CACHE_SECONDS must be a whole number of seconds from 0 to {MAX_RECORDS_CACHE_SECONDS}"
CONNECTOR_APIS = ("v2", "core/v1")  # /api/v2 (Connector 6.36), /api/core/v1 (Connector 7)


class ConfigError(ValueError):
    """A setting is wrong; the message names the environment variable."""


# --- the Backbone device's credentials (remote mode) -----------------------------------------------------------
# The secret is a JSON object `{"clientId", "clientSecret", "username", "password"}` (all strings): the Backbone
# tenant's OAuth client and the device's login. Locally the four BACKBONE_* variables stand in for it.

SECRET_VARIABLE = "BACKBONE_CREDENTIALS_SECRET"  # noqa: S105 - the variable's name, not a secret
# Environment variable → field, in the order the secret's JSON names them.
ENV_VARIABLES = {
    "BACKBONE_CLIENT_ID": "client_id",
    "BACKBONE_CLIENT_SECRET": "client_secret",
    "BACKBONE_USERNAME": "username",
    "BACKBONE_PASSWORD": "password",
}
_SECRET_KEYS = {
    "clientId": "client_id",
    "clientSecret": "client_secret",
    "username": "username",
    "password": "password",  # noqa: S105 - a JSON member's name
}


class CredentialsError(ValueError):
    """The credentials are missing or malformed; the message names where they come from, never a value."""


class BackboneCredentials(NamedTuple):  # every function defines it at init: a NamedTuple costs less than a dataclass
    client_id: str
    client_secret: str
    username: str
    password: str

    def __repr__(self) -> str:
        return f"BackboneCredentials(client_id={self.client_id!r}, username={self.username!r})"  # no secret

    @classmethod
    def from_json(cls, text: str) -> BackboneCredentials:
        try:
            data = json.loads(text)
        except ValueError:
            raise CredentialsError("the secret is not JSON") from None
        if not isinstance(data, dict):
            raise CredentialsError("the secret is not a JSON object")
        values = {name: data.get(key) for key, name in _SECRET_KEYS.items()}
        missing = [key for key, name in _SECRET_KEYS.items() if not isinstance(values[name], str) or not values[name]]
        if missing:
            raise CredentialsError(f"the secret lacks the string members {', '.join(missing)}")
        return cls(**{name: str(value) for name, value in values.items()})

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> BackboneCredentials | None:
        """All four variables, or None when none is set; a partial set is an error naming the missing ones."""
        missing = missing_env_credentials(env)
        if len(missing) == len(ENV_VARIABLES):
            return None
        if missing:
            raise CredentialsError(f"{', '.join(missing)} must be set as well")
        return cls(**{name: env[variable] for variable, name in ENV_VARIABLES.items()})


def missing_env_credentials(env: Mapping[str, str]) -> list[str]:
    return [variable for variable in ENV_VARIABLES if not env.get(variable)]


# --- the settings ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    service_address: str = DEFAULT_SERVICE_ADDRESS
    device_id: str = DEFAULT_DEVICE_ID
    # None: derived from each request (the API's own URL + /backbone, the embedded backbone).
    backbone_base_url: str | None = None
    records_table: str = DEFAULT_RECORDS_TABLE
    backbone_table: str = DEFAULT_BACKBONE_TABLE
    qr_form: QrForm = QrForm.URL
    backbone_mode: BackboneMode = "embedded"
    # Remote mode: where the Backbone device's credentials come from, a Secrets Manager secret or the environment.
    backbone_credentials_secret: str | None = None
    backbone_credentials: BackboneCredentials | None = field(default=None, repr=False)
    token_retention_days: int = DEFAULT_RETENTION_DAYS
    output_bucket: str | None = None  # bulk creation only
    # The team's Connector, the source of Files and RelationshipTemplates (SPEC §15); None: the tooling only.
    connector_base_url: str | None = None
    connector_api_key: str | None = field(default=None, repr=False)  # local runs
    connector_api_key_secret_arn: str | None = None  # AWS: a Secrets Manager secret holding the key
    connector_api: str | None = None  # "v2" or "core/v1"; None: asked once (GET /Monitoring/Version)
    records_cache_seconds: int = DEFAULT_RECORDS_CACHE_SECONDS
    region: str = DEFAULT_REGION
    # What GET /Monitoring/Version reports besides the version: set them at deployment if you track builds.
    build: str = "local"
    build_date: str = ""
    commit: str = ""

    def __post_init__(self) -> None:
        """Every Settings is checked, however it was made; the messages name the environment variables."""
        if not matches(ADDRESS_PATTERN, self.service_address):
            raise ConfigError(f"SERVICE_ADDRESS must be an enmeshed address matching {ADDRESS_PATTERN}")
        if not matches(DEVICE_ID_PATTERN, self.device_id):
            raise ConfigError(f"SERVICE_DEVICE_ID must match {DEVICE_ID_PATTERN}")
        if self.backbone_base_url is not None and not is_backbone_base_url(self.backbone_base_url):
            raise ConfigError("BACKBONE_BASE_URL must be an http(s) URL with a host and no '?', '#', '|' or '@'")
        if self.backbone_mode not in ("embedded", "remote"):
            raise ConfigError("BACKBONE_MODE must be 'embedded' or 'remote'")
        if self.backbone_mode == "remote":
            # The device login sends the OAuth client secret and the device password: never in clear over a network.
            base_url = self.remote_backbone_base_url()
            if not base_url.startswith("https://") and not _is_loopback(base_url):
                raise ConfigError(
                    "BACKBONE_BASE_URL must be an https URL in remote mode (http only for a loopback stand-in)"
                )
            self.remote_credentials()
        if not 0 <= self.token_retention_days <= MAX_RETENTION_DAYS:
            raise ConfigError(RETENTION_MESSAGE)
        if not 0 <= self.records_cache_seconds <= MAX_RECORDS_CACHE_SECONDS:
            raise ConfigError(CACHE_MESSAGE)
        if self.connector_base_url is not None:
            self._check_connector()

    def _check_connector(self) -> None:
        url = self.connector_base_url or ""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            raise ConfigError(
                "CONNECTOR_BASE_URL must be an http(s) URL with a host, such as https://connector.example"
            )
        if parts.username or parts.password:
            raise ConfigError("CONNECTOR_BASE_URL must not hold credentials: give the key as CONNECTOR_API_KEY")
        if parts.scheme != "https" and not _is_loopback(url):
            # The API key travels with every call: never in clear over a network.
            raise ConfigError("CONNECTOR_BASE_URL must be an https URL (http only on loopback)")
        if not self.connector_api_key and not self.connector_api_key_secret_arn:
            raise ConfigError("CONNECTOR_BASE_URL needs CONNECTOR_API_KEY or CONNECTOR_API_KEY_SECRET_ARN")
        if self.connector_api is not None and self.connector_api not in CONNECTOR_APIS:
            raise ConfigError("CONNECTOR_API must be 'v2' or 'core/v1' (or unset: asked from the Connector)")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """The settings of this process's environment: each variable read once, then checked as every Settings is."""
        env = os.environ if env is None else env
        qr_format = (env.get("QR_FORMAT") or "url").lower()
        if qr_format not in ("url", "legacy"):
            raise ConfigError("QR_FORMAT must be 'url' or 'legacy'")
        mode = (env.get("BACKBONE_MODE") or "embedded").lower()
        secret, credentials = _remote_credentials(env) if mode == "remote" else (None, None)
        _check_log_level(env)
        return cls(
            service_address=env.get("SERVICE_ADDRESS") or DEFAULT_SERVICE_ADDRESS,
            device_id=env.get("SERVICE_DEVICE_ID") or DEFAULT_DEVICE_ID,
            backbone_base_url=(env.get("BACKBONE_BASE_URL") or "").rstrip("/") or None,
            records_table=env.get("RECORDS_TABLE") or DEFAULT_RECORDS_TABLE,
            backbone_table=env.get("BACKBONE_TABLE") or DEFAULT_BACKBONE_TABLE,
            qr_form=QrForm(qr_format),
            backbone_mode=cast(BackboneMode, mode),  # checked with the rest in __post_init__
            backbone_credentials_secret=secret,
            backbone_credentials=credentials,
            token_retention_days=_retention_days(env),
            output_bucket=env.get(OUTPUT_BUCKET_VARIABLE) or None,
            connector_base_url=(env.get("CONNECTOR_BASE_URL") or "").rstrip("/") or None,
            connector_api_key=env.get("CONNECTOR_API_KEY") or None,
            connector_api_key_secret_arn=env.get("CONNECTOR_API_KEY_SECRET_ARN") or None,
            connector_api=(env.get("CONNECTOR_API") or "").strip("/") or None,
            records_cache_seconds=_cache_seconds(env),
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or DEFAULT_REGION,
            build=env.get("SERVICE_BUILD") or "local",
            build_date=env.get("SERVICE_BUILD_DATE") or "",
            commit=env.get("SERVICE_COMMIT") or "",
        )

    def remote_backbone_base_url(self) -> str:
        """Remote mode: the Backbone's URL (checked with every Settings, so only a wrong mode raises here)."""
        if not self.backbone_base_url:
            raise ConfigError("BACKBONE_BASE_URL is required when BACKBONE_MODE is 'remote'")
        return self.backbone_base_url

    def remote_credentials(self) -> str | BackboneCredentials:
        """Remote mode: the Secrets Manager secret's id (read on first use), else the credentials themselves."""
        if self.backbone_credentials_secret:
            return self.backbone_credentials_secret
        if self.backbone_credentials is None:
            raise ConfigError(f"BACKBONE_MODE 'remote' needs {SECRET_VARIABLE} or all of {', '.join(ENV_VARIABLES)}")
        return self.backbone_credentials

    def command_backbone_base_url(self) -> str:
        """A command has no request to derive the API's URL from, so BACKBONE_BASE_URL must be configured."""
        if not self.backbone_base_url:
            raise ConfigError(
                "BACKBONE_BASE_URL must be set for direct invocations and queued commands (the API's URL + "
                "/backbone, e.g. the stack output BackboneBaseUrl; in template.yaml: the BackboneBaseUrl parameter)"
            )
        return self.backbone_base_url

    def required_output_bucket(self) -> str:
        if not self.output_bucket:
            raise ConfigError(f"{OUTPUT_BUCKET_VARIABLE} must name the S3 bucket that receives the tokens")
        return self.output_bucket


def _retention_days(env: Mapping[str, str]) -> int:
    text = env.get("TOKEN_RETENTION_DAYS") or str(DEFAULT_RETENTION_DAYS)
    if not text.isdigit():
        raise ConfigError(RETENTION_MESSAGE)
    return int(text)


def _cache_seconds(env: Mapping[str, str]) -> int:
    text = env.get("RECORDS_CACHE_SECONDS") or str(DEFAULT_RECORDS_CACHE_SECONDS)
    if not text.isascii() or not text.isdigit() or len(text) > 6:
        raise ConfigError(CACHE_MESSAGE)
    return int(text)


def _check_log_level(env: Mapping[str, str]) -> None:
    for variable in ("POWERTOOLS_LOG_LEVEL", "LOG_LEVEL"):
        level = env.get(variable)
        if level and level.upper() not in LOG_LEVELS:
            raise ConfigError(f"{variable} must be one of {', '.join(LOG_LEVELS)}")


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _remote_credentials(env: Mapping[str, str]) -> tuple[str | None, BackboneCredentials | None]:
    """Remote mode: the secret's id, else the four variables (a partial set is refused, naming what is missing)."""
    secret = env.get(SECRET_VARIABLE) or None
    if secret is not None:
        return secret, None
    try:
        return None, BackboneCredentials.from_env(env)
    except CredentialsError as exc:
        raise ConfigError(str(exc)) from None
