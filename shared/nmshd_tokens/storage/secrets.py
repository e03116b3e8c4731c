"""Where the Backbone device's credentials come from: one Secrets Manager secret in AWS, the environment locally.

The credentials and the secret's format are settings (config.py). Values are never logged or printed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from ..config import SECRET_VARIABLE, BackboneCredentials, CredentialsError
from ..domain.errors import DomainError, ErrorKind

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager.client import SecretsManagerClient

logger = logging.getLogger("nmshd-tokens.secrets")  # a child of the Powertools logger: its JSON lines


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
