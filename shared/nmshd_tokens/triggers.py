"""The Lambda entry point of the token functions: API Gateway events and direct invocations (SPEC §10, issue #6).

Nothing here logs a command (it may hold a password): ids, codes and exception types only.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from . import wiring
from .domain.errors import DomainError, ErrorKind
from .domain.validation import IdField
from .observability import LambdaHandler, log_unexpected, logged_entry_point, logger
from .usecases.commands import command_error, run_command


def is_api_gateway_event(event: object) -> bool:
    """A REST (v1) proxy event always has all three; a command that merely carries one of them is still a command."""
    return isinstance(event, dict) and {"httpMethod", "path", "requestContext"} <= event.keys()


def direct_invocation(id_field: IdField, event: object) -> dict[str, Any]:
    """`{"result": TokenDTO[, "qrCodePng"]}`, or an exception whose class name is the error code.

    A missing BACKBONE_BASE_URL raises ConfigError: a command has no request to derive the API's URL from.
    """
    service = wiring.token_service(wiring.command_backbone_base_url())
    try:
        return run_command(service, event, id_field, wiring.settings().qr_format)
    except DomainError as error:
        logger.info("command refused", extra={"error_code": error.code, "status": error.status})
        raise command_error(error) from None
    except Exception as error:
        log_unexpected(error)
        raise command_error(DomainError(ErrorKind.UNEXPECTED)) from None


def token_function_handler(app: APIGatewayRestResolver, id_field: IdField) -> LambdaHandler:
    """The Lambda entry point of a token function: API Gateway events go to `app`, anything else is a command."""

    def route(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        if is_api_gateway_event(event):
            return app.resolve(event, context)
        return direct_invocation(id_field, event)  # sam local invoke, Step Functions, SDK

    return logged_entry_point(route, correlation_paths.API_GATEWAY_REST)
