"""Pointing boto3 (the handlers' and the CLI's) at a DynamoDB endpoint through the environment."""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from urllib.parse import urlsplit

ENDPOINT_VARIABLE = "AWS_ENDPOINT_URL_DYNAMODB"
DEFAULT_DYNAMODB_PORT = 8000
DEFAULT_REGION = "eu-central-1"
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def local_endpoint(port: int = DEFAULT_DYNAMODB_PORT) -> str:
    return f"http://127.0.0.1:{port}"


def is_loopback(endpoint: str) -> bool:
    return (urlsplit(endpoint).hostname or "") in _LOOPBACK_HOSTS


def use_endpoint(endpoint: str | None, env: MutableMapping[str, str] | None = None) -> None:
    """Set the endpoint (None: real AWS) and a region; a loopback endpoint gets dummy credentials.

    Dummy credentials keep a developer's real ones (or an SSO profile that needs a login) out of local runs.
    """
    env = os.environ if env is None else env
    env.setdefault("AWS_DEFAULT_REGION", env.get("AWS_REGION") or DEFAULT_REGION)
    env.setdefault("AWS_REGION", env["AWS_DEFAULT_REGION"])
    if endpoint is None:
        return
    env[ENDPOINT_VARIABLE] = endpoint
    if is_loopback(endpoint):
        env["AWS_ACCESS_KEY_ID"] = "local"
        env["AWS_SECRET_ACCESS_KEY"] = "local"  # noqa: S105 - a dummy value for a loopback endpoint
        env.pop("AWS_SESSION_TOKEN", None)
        env.pop("AWS_PROFILE", None)
