"""`serve --api-keys FILE`: the API keys the local API enforces, from a JSON file in the Connector's shape (SPEC §17).

Without a file, `serve` generates one admin key (or takes $API_KEY), as before. With one, the file's keys and their
scopes apply exactly as the AWS authorizer applies the secret's; $API_KEY, when it is one of the file's usable keys,
is the key the web page and the printed examples use (else they show a placeholder).

    python -m nmshd_tokens_local.api_keys_file FILE      prints the stored form: every key replaced by its SHA-256
                                                          (keySha256), what the AWS secret may hold instead
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from nmshd_tokens.domain.api_keys import ApiKeyConfigError, ApiKeys, parse_api_keys
from nmshd_tokens.domain.clock import utc_now

from .errors import InputError

PLACEHOLDER = "<your API key>"


@dataclass(frozen=True)
class LocalKeys:
    keys: ApiKeys
    shown: str | None  # the key the banner and the web page use; None: the file's keys stay unprinted
    source: Path | None  # None: generated (or $API_KEY)


def read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"--api-keys {path}: {exc.strerror}") from None
    except ValueError:
        raise InputError(f"--api-keys {path}: not a JSON document") from None


def load_api_keys(path: Path) -> ApiKeys:
    try:
        return parse_api_keys(read_json(path), utc_now())
    except ApiKeyConfigError as exc:
        raise InputError(f"--api-keys {path}: {exc}") from None


def local_keys(path: Path | None, chosen: str | None) -> LocalKeys:
    """The file's keys; without a file one admin key, `chosen` ($API_KEY) or a generated one."""
    if path is None:
        key = chosen or secrets.token_urlsafe(24)
        return LocalKeys(ApiKeys.single(key), key, None)
    keys = load_api_keys(path)
    usable = chosen is not None and keys.authenticate(chosen, utc_now()) is not None
    return LocalKeys(keys, chosen if usable else None, path)
