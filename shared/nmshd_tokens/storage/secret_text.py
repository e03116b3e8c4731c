"""One Secrets Manager secret's text, read on demand: the one place that calls GetSecretValue.

Three settings are secrets (the Backbone device's credentials, the API keys, the Connector's API key); each reader
parses the text its own way, and all of them get it, and its failures, from here. Nothing here logs the text.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager.client import SecretsManagerClient


Parsed = TypeVar("Parsed")


class SecretUnreadable(Exception):
    """Secrets Manager did not give the text. `reason` says why in words fit for a log line (never the secret)."""

    def __init__(self, reason: str, aws_error_code: str = "", error_type: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.aws_error_code = aws_error_code  # the service's refusal (AccessDeniedException, …)
        self.error_type = error_type  # or the client's failure to reach it (ConnectTimeoutError, …)


class SecretText:
    def __init__(self, secret_id: str, client_factory: Callable[[], SecretsManagerClient]) -> None:
        self.secret_id = secret_id
        self._client_factory = client_factory
        self._client: SecretsManagerClient | None = None

    def client(self) -> SecretsManagerClient:
        """Built on first use (an instance that never reads makes none), or ahead of it by a caller's init."""
        if self._client is None:
            self._client = self._client_factory()
        return self._client

    def read(self) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return self.client().get_secret_value(SecretId=self.secret_id).get("SecretString") or ""
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            raise SecretUnreadable(f"cannot read the secret ({code})", aws_error_code=code) from None
        except BotoCoreError as exc:  # timeouts, refused connections
            kind = type(exc).__name__
            raise SecretUnreadable(f"cannot reach Secrets Manager ({kind})", error_type=kind) from None


class KeptSecret(Generic[Parsed]):
    """A secret read on first use, parsed, and kept for the life of the instance (warm invocations reuse it) until
    forgotten. `read` raises SecretUnreadable, or whatever `parse` raises for a text it refuses."""

    def __init__(
        self, secret_id: str, client_factory: Callable[[], SecretsManagerClient], parse: Callable[[str], Parsed]
    ) -> None:
        self.text = SecretText(secret_id, client_factory)
        self._parse = parse
        self._value: Parsed | None = None
        self._lock = threading.Lock()

    def read(self) -> Parsed:
        with self._lock:  # one read for concurrent first callers
            if self._value is None:
                self._value = self._parse(self.text.read())
            return self._value

    def forget(self) -> None:
        with self._lock:
            self._value = None
