"""The Backbone device's credentials: one Secrets Manager secret in AWS, environment variables locally.

The secret is a JSON object `{"clientId", "clientSecret", "username", "password"}` (all strings): the Backbone
tenant's OAuth client and the device's login . Values are never logged or printed.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from ..domain.errors import DomainError, ErrorKind

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager.client import SecretsManagerClient

logger = logging.getLogger("nmshd-tokens.secrets")  # a child of the Powertools logger: its JSON lines

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


@dataclass(frozen=True)
class BackboneCredentials:
    client_id: str
    client_secret: str = field(repr=False)
    username: str
    password: str = field(repr=False)

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


class CredentialSource(Protocol):
    def get(self) -> BackboneCredentials: ...

    def forget(self) -> None:
        """Read the credentials again next time (after the Backbone refused them: the secret may be rotated)."""
        ...


@dataclass(frozen=True)
class StaticCredentials:
    """Credentials from the environment (local runs and tests)."""

    credentials: BackboneCredentials

    def get(self) -> BackboneCredentials:
        return self.credentials

    def forget(self) -> None:
        return None


class SecretsManagerCredentials:
    """Read lazily from one secret, then kept for the life of the process (warm invocations reuse them)."""

    def __init__(self, secret_id: str, client_factory: Callable[[], SecretsManagerClient]) -> None:
        self.secret_id = secret_id
        self._client_factory = client_factory
        self._client: SecretsManagerClient | None = None
        self._credentials: BackboneCredentials | None = None
        self._lock = threading.Lock()

    def get(self) -> BackboneCredentials:
        with self._lock:
            if self._credentials is None:
                self._credentials = self._fetch()
            return self._credentials

    def forget(self) -> None:
        with self._lock:
            self._credentials = None

    def _fetch(self) -> BackboneCredentials:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            if self._client is None:  # built on first use: only a login needs it
                self._client = self._client_factory()
            secret = self._client.get_secret_value(SecretId=self.secret_id)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            logger.error("cannot read the backbone credentials secret", extra={"aws_error_code": code})
            raise DomainError(ErrorKind.SERVICE_UNAVAILABLE) from None
        except BotoCoreError as exc:  # timeouts, refused connections
            logger.error("cannot reach Secrets Manager", extra={"error_type": type(exc).__name__})
            raise DomainError(ErrorKind.SERVICE_UNAVAILABLE) from None
        try:
            return BackboneCredentials.from_json(secret.get("SecretString") or "")
        except CredentialsError as exc:
            # A deployment mistake, not the caller's: logged with the variable's name, answered as 503.
            logger.error(f"{SECRET_VARIABLE}: {exc}")
            raise DomainError(ErrorKind.SERVICE_UNAVAILABLE) from None
