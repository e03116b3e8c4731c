"""The API Gateway Lambda REQUEST authorizer of the keyed routes (SPEC §17): a key in, a cached policy out.

API Gateway caches the answer per header value for the authorizer's TTL and applies it to every method the
request could reach, so the policy names every route the key's scopes allow (domain/route_scopes.py), not just
the one asked for:
- no, unknown, disabled or expired key: the exception "Unauthorized", which API Gateway answers 401 (gateway
  response UNAUTHORIZED: the Connector's `error.connector.unauthorized`);
- a known key: Allow on the routes its scopes cover; any other route is denied, which API Gateway answers 403
  (ACCESS_DENIED: the Connector's `error.connector.forbidden`). A key with `scopes: []` gets an explicit Deny;
- the keys cannot be read or are refused: an error, answered 500 (AUTHORIZER_FAILURE).
`usageIdentifierKey` is the key's SHA-256 (hex), the API Gateway API key that the usage plan throttles it by.
Imports only the standard library and botocore (no Powertools, no pydantic): the cold start stays small.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from ..domain.api_keys import ApiKey, ApiKeys
from ..domain.clock import format_timestamp, utc_now
from ..domain.route_scopes import ALL_SCOPES, scope_resources

logger = logging.getLogger("nmshd-tokens.authorizer")

Handler = Callable[[Mapping[str, Any], Any], dict[str, Any]]


class Unauthorized(Exception):  # noqa: N818 - API Gateway matches the message "Unauthorized" exactly
    def __init__(self) -> None:
        super().__init__("Unauthorized")


def presented_key(event: Mapping[str, Any], header_name: str) -> str | None:
    """The first value of the key header, whatever the case of its name (as the Connector reads it)."""
    wanted = header_name.lower()
    for name, values in (event.get("multiValueHeaders") or {}).items():
        if name.lower() == wanted and values:
            return str(values[0])
    for name, value in (event.get("headers") or {}).items():
        if name.lower() == wanted and value is not None:
            return str(value)
    return None


def _arn_prefix(method_arn: str) -> str:
    """`arn:aws:execute-api:<region>:<account>:<api>/<stage>/` from a method ARN."""
    api_and_stage = method_arn.split("/", 2)[:2]
    if len(api_and_stage) != 2 or not method_arn.startswith("arn:"):
        raise ValueError("the event's methodArn is not an execute-api method ARN")
    return "/".join(api_and_stage) + "/"


def authorizer_context(key: ApiKey) -> dict[str, str]:
    """What the functions find in requestContext.authorizer (besides principalId); the expiry is for logs and audits."""
    return {"apiKeyId": key.id, "apiKeyExpiresAt": format_timestamp(key.expires_at) if key.expires_at else ""}


def policy_for(key: ApiKey, method_arn: str) -> dict[str, Any]:
    prefix = _arn_prefix(method_arn)
    allowed = [scope for scope in ALL_SCOPES if key.allows(scope)]
    if len(allowed) == len(ALL_SCOPES):
        statement = {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": [f"{prefix}*"]}
    elif allowed:
        resources = [prefix + tail for scope in allowed for tail in scope_resources(scope)]
        statement = {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": resources}
    else:
        statement = {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": [f"{prefix}*"]}
    return {
        "principalId": key.id,
        "policyDocument": {"Version": "2012-10-17", "Statement": [statement]},
        "context": authorizer_context(key),
        "usageIdentifierKey": key.usage_identifier,
    }


def authorize(event: Mapping[str, Any], keys: ApiKeys, now: datetime) -> dict[str, Any]:
    key = keys.authenticate(presented_key(event, keys.header_name), now)
    if key is None:
        raise Unauthorized
    return policy_for(key, str(event.get("methodArn") or ""))


def create_handler(get_keys: Callable[[datetime], ApiKeys], clock: Callable[[], datetime] = utc_now) -> Handler:
    def lambda_handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        now = clock()
        try:
            keys = get_keys(now)
        except Exception as exc:
            logger.error(f"the API keys are unusable: {exc}")  # the message names the cause, never a key
            raise
        try:
            return authorize(event, keys, now)
        except Unauthorized:
            logger.info("refused: no, unknown, disabled or expired API key")
            raise

    return lambda_handler
