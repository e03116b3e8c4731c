"""The API key configuration (SPEC §17) from one Secrets Manager secret, re-read every `refresh_seconds`.

The secret's string is the Connector's `authentication.apiKey` JSON (domain/api_keys.py). A warm authorizer keeps
the parsed keys and reads the secret again after `refresh_seconds`, so that a key added, disabled or removed in
the secret takes effect without a deployment. If a later read fails, the keys read before stay in use (logged);
if the first read fails, or the secret is refused (the Connector's start-up rules), the error propagates: the
authorizer then fails, and API Gateway answers 500. Nothing here logs a key or the secret's text.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ..domain.api_keys import ApiKeyConfigError, ApiKeys, parse_api_keys
from .secret_text import SecretText, SecretUnreadable

logger = logging.getLogger("nmshd-tokens.api-keys")

SECRET_VARIABLE = "API_KEYS_SECRET"  # noqa: S105 - the variable's name, not a secret


class ApiKeysUnavailable(RuntimeError):
    """The keys cannot be read or are refused; the message names the cause, never a key."""


class SecretApiKeys:
    def __init__(
        self, secret_id: str, client_factory: Callable[[], Any], refresh_seconds: float, header_name: str
    ) -> None:
        self._secret = SecretText(secret_id, client_factory)
        self._refresh_seconds = refresh_seconds
        self._header_name = header_name
        self._keys: ApiKeys | None = None
        self._read_at: datetime | None = None
        self._lock = threading.Lock()

    @property
    def secret_id(self) -> str:
        return self._secret.secret_id

    def client(self) -> object:
        """Secrets Manager's client, built ahead of the first read by the authorizer's init."""
        return self._secret.client()

    def get(self, now: datetime) -> ApiKeys:
        with self._lock:
            stale = self._read_at is None or (now - self._read_at).total_seconds() >= self._refresh_seconds
            if self._keys is None or stale:
                try:
                    self._keys = self._read(now)
                except ApiKeysUnavailable as exc:
                    if self._keys is None:
                        raise
                    logger.error(f"keeping the API keys read before: {exc}")
                self._read_at = now
            return self._keys

    def _read(self, now: datetime) -> ApiKeys:
        try:
            text = self._secret.read()
        except SecretUnreadable as exc:
            raise ApiKeysUnavailable(f"{SECRET_VARIABLE}: {exc.reason}") from None
        try:
            keys = parse_api_keys(json.loads(text), now)
        except ValueError as exc:  # JSONDecodeError and ApiKeyConfigError
            reason = str(exc) if isinstance(exc, ApiKeyConfigError) else "the secret is not JSON"
            raise ApiKeysUnavailable(f"{SECRET_VARIABLE}: {reason}") from None
        if keys.header_name.lower() != self._header_name.lower():
            raise ApiKeysUnavailable(
                f"{SECRET_VARIABLE}: headerName {keys.header_name} is not the header the API's authorizer reads "
                f"({self._header_name}): change both together"
            )
        return keys
