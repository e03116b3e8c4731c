"""Where the Backbone device's credentials come from: one Secrets Manager secret in AWS, the environment locally.

The credentials and the secret's format are settings (config.py). Values are never logged or printed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from ..config import SECRET_VARIABLE, BackboneCredentials, CredentialsError
from ..domain.errors import DomainError, ErrorKind
from .secret_text import KeptSecret, SecretUnreadable

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
    """Read from one secret when a login first needs them, then kept (warm invocations reuse them)."""

    def __init__(self, secret_id: str, client_factory: Callable[[], SecretsManagerClient]) -> None:
        self._secret = KeptSecret(secret_id, client_factory, BackboneCredentials.from_json)

    @property
    def secret_id(self) -> str:
        return self._secret.text.secret_id

    def get(self) -> BackboneCredentials:
        try:
            return self._secret.read()
        except SecretUnreadable as exc:
            if exc.aws_error_code:
                logger.error(
                    "cannot read the backbone credentials secret", extra={"aws_error_code": exc.aws_error_code}
                )
            else:
                logger.error("cannot reach Secrets Manager", extra={"error_type": exc.error_type})
            raise DomainError(ErrorKind.SERVICE_UNAVAILABLE) from None
        except CredentialsError as exc:
            # A deployment mistake, not the caller's: logged with the variable's name, answered as 503.
            logger.error(f"{SECRET_VARIABLE}: {exc}")
            raise DomainError(ErrorKind.SERVICE_UNAVAILABLE) from None

    def forget(self) -> None:
        self._secret.forget()
