"""The API-key matrix (SPEC §17) that both key suites run: every keyed route of template.yaml × every kind of key,
through the authorizer's API Gateway events (tests/integration/test_api_authorizer.py) and through `serve`
(tests/e2e/test_serve_api_keys.py)."""

from __future__ import annotations

from typing import Any

from nmshd_tokens_local.routes import Route, api_from_template
from nmshd_tokens_local.tables import load_template

from tests.support import ROOT

CASES = ("no key", "unknown", "disabled", "expired", "wrong scope", "right scope", "*", "**", "no scopes", "[]")
# The key whose scopes are exactly a route's scope.
SCOPE_KEY = {
    "core:files": "files",
    "core:relationshipTemplates": "templates",
    "core:tokens": "tokens",
    "monitoring:version": "monitoring",
}
# Each kind of key but an expired one (each suite expires its own: at start-up, or after the keys were read).
KEYS: dict[str, dict[str, Any]] = {
    "files": {"scopes": ["core:files"]},
    "templates": {"scopes": ["core:relationshipTemplates"]},
    "tokens": {"scopes": ["core:tokens"]},
    "monitoring": {"scopes": ["monitoring:version"], "description": "the monitoring's key"},
    "star": {"scopes": ["core:*"]},
    "doublestar": {"scopes": ["**"]},
    "admin": {},  # no scopes: every route
    "nothing": {"scopes": []},
    "disabled": {"enabled": False},
}


def strong(name: str) -> str:
    """A key the Connector's strength rule accepts, named after its entry."""
    return f"{name}-KEY-0123456789-abcdefghijklmnop!"


def key_entries(keys: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The configuration's `keys`, each entry with its key."""
    return {name: {"key": strong(name)} | entry for name, entry in keys.items()}


def keyed_routes() -> list[Route]:
    api = api_from_template(load_template(ROOT / "template.yaml"), ROOT)
    return [route for route in api.routes if route.api_key_required]


def presented(case: str, scope: str, expired_key: str) -> str | None:
    """The key a request of this case sends to a route needing `scope` (None: no key)."""
    wrong = "tokens" if scope != "core:tokens" else "files"
    return {
        "no key": None,
        "unknown": strong("unknown"),
        "disabled": strong("disabled"),
        "expired": strong(expired_key),
        "wrong scope": strong(wrong),
        "right scope": strong(SCOPE_KEY[scope]),
        "*": strong("star"),
        "**": strong("doublestar"),
        "no scopes": strong("admin"),
        "[]": strong("nothing"),
    }[case]


def refusal(case: str, scope: str) -> int | None:
    """401 or 403, or None: the key passes and the function answers."""
    if case in ("no key", "unknown", "disabled", "expired"):
        return 401
    if case in ("wrong scope", "[]") or (case == "*" and not scope.startswith("core:")):  # core:* covers no monitoring
        return 403
    return None
