"""Lambda entry points of the API functions: API Gateway events, and for the token functions also commands.

Nothing here logs an event or a command (they may hold a password): ids, codes and exception types only.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any, cast

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from .. import metrics
from ..config import ConfigError
from ..domain.errors import DomainError, ErrorKind
from ..observability import LambdaHandler, log_unexpected, logged_entry_point, logger


class CommandFailed(Exception):
    """A direct invocation's failure. Subclasses are named by the error code (see `error_class`).

    Lambda reports an exception's class name as `errorType`, so a Step Functions Catch can match the exact code:
    `"ErrorEquals": ["error.runtime.recordNotFound"]`.
    """

    code = ErrorKind.UNEXPECTED.code

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@lru_cache(maxsize=128)
def error_class(code: str) -> type[CommandFailed]:
    """One class per code, created on first use: `error_class("error.runtime.recordNotFound").__name__` is the code."""
    return cast(type[CommandFailed], type(code, (CommandFailed,), {"code": code, "__module__": __name__}))


def command_failure(error: DomainError) -> CommandFailed:
    return error_class(error.code)(error.message, error.status)


def api_handler(app: APIGatewayRestResolver) -> LambdaHandler:
    return logged_entry_point(app.resolve, correlation_paths.API_GATEWAY_REST)


def is_api_gateway_event(event: object) -> bool:
    """A REST (v1) proxy event always has all three; a command that merely carries one of them is still a command."""
    return isinstance(event, dict) and {"httpMethod", "path", "requestContext"} <= event.keys()


def api_or_command_handler(
    app: APIGatewayRestResolver, run_command: Callable[[object], dict[str, Any]]
) -> LambdaHandler:
    """API Gateway events go to `app`; anything else is a command (sam local invoke, Step Functions, an SDK).

    A command answers `{"result": TokenDTO[, "qrCodePng"]}` or raises an exception whose class name is the error
    code. A missing BACKBONE_BASE_URL raises ConfigError: a command has no request to derive the API's URL from.
    """

    def run(event: object) -> dict[str, Any]:
        try:
            return run_command(event)
        except DomainError as error:
            logger.info("command refused", extra={"error_code": error.code, "status": error.status})
            metrics.count(metrics.REQUESTS_REFUSED, ErrorCode=error.code)
            raise command_failure(error) from None
        except ConfigError:
            raise  # a deployment mistake, named: not the caller's error
        except Exception as error:
            log_unexpected(error)
            metrics.count(metrics.REQUESTS_REFUSED, ErrorCode=ErrorKind.UNEXPECTED.code)
            raise command_failure(DomainError(ErrorKind.UNEXPECTED)) from None

    def route(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        if is_api_gateway_event(event):
            return app.resolve(event, context)
        return run(event)

    return logged_entry_point(route, correlation_paths.API_GATEWAY_REST)
