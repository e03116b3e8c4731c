"""What every API Gateway function shares: one resolver, one place that maps errors to responses."""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from .. import wiring
from ..domain.errors import DomainError, ErrorKind, validation_error
from ..domain.references import is_backbone_base_url
from ..domain.validation import IdField, parse_token_request
from ..observability import log_unexpected, logger
from ..usecases.create_token import TokenService
from .accept import PNG, negotiate
from .body import parse_json_object
from .call import TokenCall
from .responses import error_response, kind_response


def create_resolver() -> APIGatewayRestResolver:
    # Read the configuration at init: a wrong setting fails the cold start with a message naming it,
    # instead of turning every request into an anonymous 500.
    wiring.settings()
    # The DynamoDB client too: Lambda runs init on a full vCPU, a first request may get a slice of one. botocore is
    # the biggest part of a cold start and allocates many small objects; with the cyclic GC running, every pass
    # would rescan all of them and everything imported before (benchmarks/run.py measures what this saves). What
    # init built then lives as long as the process, so it is frozen: later passes skip it.
    _outside_cyclic_gc(wiring.prepare_clients)
    # debug=False whatever POWERTOOLS_DEV says: debug mode prints every event (passwords) and puts tracebacks in
    # 500 bodies.
    app = APIGatewayRestResolver(strip_prefixes=None, debug=False)

    @app.exception_handler(DomainError)  # type: ignore[untyped-decorator]
    def _domain_error(error: DomainError) -> Response[str]:
        logger.info("request refused", extra={"error_code": error.code, "status": error.status})
        return error_response(error)

    @app.not_found
    def _route_not_found(_: NotFoundError) -> Response[str]:
        return kind_response(ErrorKind.ROUTE_NOT_FOUND)

    @app.exception_handler(Exception)  # type: ignore[untyped-decorator]
    def _unexpected(error: Exception) -> Response[str]:
        log_unexpected(error)
        return kind_response(ErrorKind.UNEXPECTED)

    return app


def _outside_cyclic_gc(build: Callable[[], None]) -> None:
    """Run `build` with the cyclic GC paused, then freeze the heap (gc.freeze): no pass ever scans it."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        build()
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def read_token_call(event: APIGatewayProxyEvent, id_field: IdField, path_id: str) -> TokenCall:
    """Checks in the Connector's order: 406, then invalid JSON, then validation (SPEC §7)."""
    representation = negotiate(event.headers.get("accept") if event.headers else None)
    if representation is None:
        raise DomainError(ErrorKind.NOT_ACCEPTABLE)
    body = parse_json_object(event.body, bool(event.is_base64_encoded))
    command = {**body, id_field: path_id}
    return TokenCall(representation, parse_token_request(id_field, command, wants_png=representation == PNG))


def own_backbone_base_url(event: APIGatewayProxyEvent) -> str:
    """The API's own base URL + /backbone, for when BACKBONE_BASE_URL is not configured."""
    context: dict[str, Any] = event.raw_event.get("requestContext") or {}
    domain = context.get("domainName") or (event.headers or {}).get("host") or "localhost"
    stage = context.get("stage") or ""
    scheme = "http" if domain.startswith(("127.0.0.1", "localhost")) else "https"
    # Execute-api hostnames carry the stage in the path; custom domains map it away.
    prefix = f"/{stage}" if stage and domain.endswith(".amazonaws.com") else ""
    base_url = f"{scheme}://{domain}{prefix}/backbone"
    # API Gateway's domainName is always sound; a local Host header is the caller's, checked before anything is
    # published (a reference cannot be built on it).
    if not is_backbone_base_url(base_url):
        raise validation_error("the Host header must be a host name, optionally with a port")
    return base_url


def token_service_for(event: APIGatewayProxyEvent) -> TokenService:
    """With BACKBONE_BASE_URL configured the request's host plays no part."""
    configured = wiring.settings().backbone_base_url
    return wiring.token_service(configured or own_backbone_base_url(event))
