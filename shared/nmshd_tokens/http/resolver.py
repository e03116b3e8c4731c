"""The resolver of every API Gateway function: its routes, and the one place that maps errors to responses."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError

from .. import metrics
from ..domain.errors import DomainError, ErrorKind
from ..observability import log_unexpected, logger
from .responses import error_response, kind_response


def create_resolver() -> APIGatewayRestResolver:
    # debug=False whatever POWERTOOLS_DEV says: debug mode prints every event (passwords) and puts tracebacks in
    # 500 bodies.
    app = APIGatewayRestResolver(strip_prefixes=None, debug=False)

    @app.exception_handler(DomainError)  # type: ignore[untyped-decorator]
    def _domain_error(error: DomainError) -> Response[str]:
        logger.info("request refused", extra={"error_code": error.code, "status": error.status})
        metrics.count(metrics.REQUESTS_REFUSED, ErrorCode=error.code)
        return error_response(error)

    @app.not_found
    def _route_not_found(_: NotFoundError) -> Response[str]:
        metrics.count(metrics.REQUESTS_REFUSED, ErrorCode=ErrorKind.ROUTE_NOT_FOUND.code)
        return kind_response(ErrorKind.ROUTE_NOT_FOUND)

    @app.exception_handler(Exception)  # type: ignore[untyped-decorator]
    def _unexpected(error: Exception) -> Response[str]:
        log_unexpected(error)
        metrics.count(metrics.REQUESTS_REFUSED, ErrorCode=ErrorKind.UNEXPECTED.code)
        return kind_response(ErrorKind.UNEXPECTED)

    return app
