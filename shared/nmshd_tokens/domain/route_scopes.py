"""Which scope each route needs (SPEC §17), as the Connector's controllers declare it with `@Security(...)`.

A controller's scope covers every route under it, in both route families (/api/v2, Connector 6.x, and
/api/core/v1, Connector 7): `core:files` for `…/Files/…` (the token-creating `Files/{id}/Token` too),
`core:relationshipTemplates` for `…/RelationshipTemplates/…`, `core:tokens` for `…/Tokens/…`, and
`monitoring:version` for `/Monitoring/Version`. Every other path (`/health`, the embedded backbone) needs none.
"""

from __future__ import annotations

ROUTE_FAMILIES = ("/api/v2", "/api/core/v1")
CONTROLLER_SCOPES = {
    "Files": "core:files",
    "RelationshipTemplates": "core:relationshipTemplates",
    "Tokens": "core:tokens",
}
OTHER_SCOPES = {"/Monitoring/Version": "monitoring:version"}
ALL_SCOPES = (*CONTROLLER_SCOPES.values(), *OTHER_SCOPES.values())
# The methods an authorizer's policy names for a controller (an explicit method: a leading wildcard in an
# execute-api ARN would also match a path that merely ends like a permitted one).
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def required_scope(path: str) -> str | None:
    """The scope a request path (or an API Gateway resource path) needs; None: the route is public."""
    if path in OTHER_SCOPES:
        return OTHER_SCOPES[path]
    for family in ROUTE_FAMILIES:
        if path.startswith(family + "/"):
            controller = path[len(family) + 1 :].split("/", 1)[0]
            return CONTROLLER_SCOPES.get(controller)
    return None


def scope_resources(scope: str) -> list[str]:
    """`METHOD/path` patterns (execute-api ARN tails) of every route that needs `scope`."""
    if scope in OTHER_SCOPES.values():
        return [f"GET{path}" for path, needed in OTHER_SCOPES.items() if needed == scope]
    controllers = [name for name, needed in CONTROLLER_SCOPES.items() if needed == scope]
    return [
        f"{method}{family}/{controller}/*"
        for controller in controllers
        for family in ROUTE_FAMILIES
        for method in HTTP_METHODS
    ]
