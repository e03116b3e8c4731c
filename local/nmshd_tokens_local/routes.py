"""The API as template.yaml declares it: routes, their functions, API-key requirement, binary media types.

Read from the template so that the local server never repeats (and never drifts from) the deployed API.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SERVERLESS_FUNCTION = "AWS::Serverless::Function"
_SERVERLESS_API = "AWS::Serverless::Api"
_PATH_PARAMETER_RE = re.compile(r"\{([A-Za-z0-9_]+)(\+?)\}")


class TemplateError(ValueError):
    """template.yaml lacks something the local server needs; the message says what."""


@dataclass(frozen=True)
class FunctionSpec:
    """Where a function's handler lives: `<code_dir>/<module>.py`, attribute `attribute`."""

    logical_id: str
    code_dir: Path
    module: str
    attribute: str
    memory_mb: int = 128
    timeout_s: int = 3

    @property
    def source(self) -> Path:
        return self.code_dir / f"{self.module}.py"


@dataclass(frozen=True)
class Route:
    method: str  # upper case; ANY matches every method
    path: str  # API Gateway path template, e.g. /api/v2/Files/{id}/Token
    function: FunctionSpec
    api_key_required: bool
    pattern: re.Pattern[str]
    literal_segments: int  # more literal segments = more specific (API Gateway prefers those)

    def accepts(self, method: str) -> bool:
        return self.method in ("ANY", method.upper())


@dataclass(frozen=True)
class RouteMatch:
    route: Route
    path_parameters: dict[str, str]


@dataclass(frozen=True)
class MethodNotAllowed:
    allowed: tuple[str, ...]


@dataclass(frozen=True)
class ApiSpec:
    routes: tuple[Route, ...]
    binary_media_types: tuple[str, ...]
    stage: str = "local"

    @property
    def functions(self) -> dict[str, FunctionSpec]:
        return {route.function.logical_id: route.function for route in self.routes}

    def _routes_for(self, path: str) -> list[tuple[Route, dict[str, str]]]:
        found = []
        for route in self.routes:
            match = route.pattern.fullmatch(path)
            if match:
                found.append((route, match.groupdict()))
        return found

    def resolve(self, method: str, path: str) -> RouteMatch | MethodNotAllowed | None:
        """The route for `method path`; MethodNotAllowed when the path exists for other methods; None if unknown.

        As API Gateway: the most specific resource first (`/Tokens/Own` before `/Tokens/{id}`), then the method
        on that resource; so `DELETE /Tokens/Own` is not `DELETE /Tokens/{id}` with the id "Own".
        """
        candidates = self._routes_for(path)
        if not candidates:
            return None
        best = max(route.literal_segments for route, _ in candidates)
        on_resource = [(route, params) for route, params in candidates if route.literal_segments == best]
        accepting = [(route, params) for route, params in on_resource if route.accepts(method)]
        if not accepting:
            return MethodNotAllowed(tuple(sorted({route.method for route, _ in on_resource})))
        route, params = max(accepting, key=lambda pair: pair[0].method != "ANY")
        return RouteMatch(route, params)

    def requires_api_key(self, method: str, path: str) -> bool:
        """The key rule of the route that answers; for a wrong method, of any route on the path.

        Unknown paths need the key too, so that probing without one learns nothing.
        """
        resolved = self.resolve(method, path)
        if isinstance(resolved, RouteMatch):
            return resolved.route.api_key_required
        return resolved is None or any(route.api_key_required for route, _ in self._routes_for(path))


def compile_path(path: str) -> tuple[re.Pattern[str], int]:
    """`{name}` matches one path segment, `{name+}` the rest of the path, as API Gateway resources do."""
    parts: list[str] = []
    position = 0
    for match in _PATH_PARAMETER_RE.finditer(path):
        parts.append(re.escape(path[position : match.start()]))
        name, greedy = match.groups()
        parts.append(f"(?P<{name}>.+)" if greedy else f"(?P<{name}>[^/]+)")
        position = match.end()
    parts.append(re.escape(path[position:]))
    literal_segments = sum(1 for segment in path.split("/") if segment and "{" not in segment)
    return re.compile("".join(parts)), literal_segments


def _ref_name(value: Any) -> str | None:
    return value.get("Ref") if isinstance(value, dict) and isinstance(value.get("Ref"), str) else None


def _api_key_default(api_properties: dict[str, Any]) -> bool:
    return bool((api_properties.get("Auth") or {}).get("ApiKeyRequired", False))


def _function_spec(
    logical_id: str, properties: dict[str, Any], globals_function: dict[str, Any], base_dir: Path
) -> FunctionSpec:
    code_uri = properties.get("CodeUri", globals_function.get("CodeUri"))
    handler = properties.get("Handler", globals_function.get("Handler"))
    if not isinstance(code_uri, str) or not isinstance(handler, str) or "." not in handler:
        raise TemplateError(f"{logical_id} needs a local CodeUri and a Handler of the form module.function")
    module, _, attribute = handler.rpartition(".")
    spec = FunctionSpec(
        logical_id=logical_id,
        code_dir=(base_dir / code_uri).resolve(),
        module=module.replace(".", "/"),
        attribute=attribute,
        memory_mb=int(properties.get("MemorySize", globals_function.get("MemorySize", 128))),
        timeout_s=int(properties.get("Timeout", globals_function.get("Timeout", 3))),
    )
    if not spec.source.is_file():
        raise TemplateError(f"{logical_id}: handler source {spec.source} does not exist")
    return spec


def api_from_template(template: dict[str, Any], base_dir: Path) -> ApiSpec:
    """Every `Api` event of every function, with the API-key rule that applies to it."""
    resources: dict[str, Any] = template.get("Resources") or {}
    globals_section: dict[str, Any] = template.get("Globals") or {}
    globals_api: dict[str, Any] = globals_section.get("Api") or {}
    apis = {
        logical_id: {**globals_api, **(resource.get("Properties") or {})}
        for logical_id, resource in resources.items()
        if resource.get("Type") == _SERVERLESS_API
    }
    binary_types = {str(value) for value in globals_api.get("BinaryMediaTypes") or []}
    for properties in apis.values():
        binary_types.update(str(value) for value in properties.get("BinaryMediaTypes") or [])
    stages = [properties.get("StageName") for properties in apis.values()]
    stage = next((name for name in stages if isinstance(name, str)), "local")

    routes: list[Route] = []
    for logical_id, resource in resources.items():
        if resource.get("Type") != _SERVERLESS_FUNCTION:
            continue
        properties = resource.get("Properties") or {}
        api_events = [event for event in (properties.get("Events") or {}).values() if event.get("Type") == "Api"]
        if not api_events:
            continue
        function = _function_spec(logical_id, properties, globals_section.get("Function") or {}, base_dir)
        for event in api_events:
            event_properties = event.get("Properties") or {}
            api_properties = apis.get(_ref_name(event_properties.get("RestApiId")) or "", globals_api)
            required = _api_key_default(api_properties)
            event_auth = event_properties.get("Auth") or {}
            if "ApiKeyRequired" in event_auth:
                required = bool(event_auth["ApiKeyRequired"])
            # A route behind the key authorizer needs a key whatever its usage-plan setting.
            required = required or event_auth.get("Authorizer", "NONE") != "NONE"
            path, method = str(event_properties["Path"]), str(event_properties["Method"]).upper()
            pattern, literal_segments = compile_path(path)
            routes.append(Route(method, path, function, required, pattern, literal_segments))
    if not routes:
        raise TemplateError("template.yaml declares no function with an Api event")
    # SAM writes "~1" for "/" in media types (a JSON-pointer escape); API Gateway sees "image/png".
    media_types = tuple(sorted(value.replace("~1", "/").lower() for value in binary_types))
    return ApiSpec(tuple(routes), media_types, stage)


# The public paths (SPEC §1, §9) that the start-up banner and the local page offer; `serve` checks at start-up
# that template.yaml routes each of them, so a renamed route fails loudly instead of printing dead examples.
FILE_TOKEN_PATH = "/api/v2/Files/{id}/Token"  # noqa: S105 - a path, not a secret
TEMPLATE_TOKEN_PATH = "/api/v2/RelationshipTemplates/Own/{id}/Token"  # noqa: S105 - a path, not a secret
BACKBONE_TOKEN_PATH = "/backbone/api/v2/Tokens/{id}"  # noqa: S105 - a path, not a secret
OWN_TOKENS_PATH = "/api/core/v1/Tokens/Own"  # noqa: S105 - a path, not a secret
KEPT_TOKEN_PATH = "/api/core/v1/Tokens/{id}"  # noqa: S105 - a path, not a secret (GET and DELETE)
