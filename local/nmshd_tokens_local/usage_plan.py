"""`nmshd-tokens api-keys register`: makes the stack's usage plan know every API key, so that each is throttled.

The authorizer names a key to API Gateway by its usage identifier (the key's SHA-256 in hex, never the key), and
API Gateway lets a request through only when that name is an API key of a usage plan of the stage. This registers
the identifier of every enabled, unexpired key of a configuration once: an API key `nmshd-tokens-<id>` whose value
is the identifier, added to the usage plan. Running it again changes nothing; keys that left the configuration stay
registered but cannot pass the authorizer.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from nmshd_tokens.domain.api_keys import ApiKeys

from .errors import CommandError


@dataclass
class Registration:
    added: list[str] = field(default_factory=list)  # key ids newly put on the usage plan
    already: list[str] = field(default_factory=list)  # key ids the usage plan knew

    def summary(self) -> str:
        return f"{len(self.added)} key(s) added to the usage plan, {len(self.already)} already on it"


def _pages(call: Any, items: str, **arguments: Any) -> Iterator[dict[str, Any]]:
    position: str | None = None
    while True:
        page = call(**arguments, **({"position": position} if position else {}))
        yield from page.get(items, [])
        position = page.get("position")
        if not position:
            return


def register_keys(keys: ApiKeys, usage_plan_id: str, apigateway: Any) -> Registration:
    """Idempotent: an identifier already an API key is reused, one already on the plan is left alone."""
    try:
        apigateway.get_usage_plan(usagePlanId=usage_plan_id)
        by_value = {
            key["value"]: key["id"] for key in _pages(apigateway.get_api_keys, "items", includeValues=True, limit=500)
        }
        on_plan = {key["id"] for key in _pages(apigateway.get_usage_plan_keys, "items", usagePlanId=usage_plan_id)}
    except apigateway.exceptions.NotFoundException:
        raise CommandError(f"usage plan {usage_plan_id} not found (the stack's UsagePlanId output)") from None
    registration = Registration()
    for key in keys.keys:
        key_id = by_value.get(key.usage_identifier)
        if key_id is None:
            created = apigateway.create_api_key(
                name=f"nmshd-tokens-{key.id}",
                description="usage identifier of an nmshd-tokens API key (its SHA-256, not the key)",
                enabled=True,
                value=key.usage_identifier,
            )
            key_id = created["id"]
        if key_id in on_plan:
            registration.already.append(key.id)
        else:
            apigateway.create_usage_plan_key(usagePlanId=usage_plan_id, keyId=key_id, keyType="API_KEY")
            registration.added.append(key.id)
    return registration
