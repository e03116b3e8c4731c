"""The one logger of every function, and what may be logged about an unexpected error."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger

from . import metrics

logger = Logger(service="nmshd-tokens")

LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


def logged_entry_point(handler: LambdaHandler, correlation_id_path: str | None = None) -> LambdaHandler:
    """Powertools' Lambda context in every log line; never the event, whatever POWERTOOLS_LOGGER_LOG_EVENT says
    (events and messages carry passwords and keys). The invocation's metrics are flushed when it ends."""

    def measured(event: dict[str, Any], context: Any) -> dict[str, Any]:
        try:
            return handler(event, context)
        finally:
            metrics.flush()

    wrapped: LambdaHandler = logger.inject_lambda_context(
        correlation_id_path=correlation_id_path, clear_state=True, log_event=False
    )(measured)
    return wrapped


def log_unexpected(error: BaseException, message: str = "unexpected error", **extra: str) -> None:
    """Type and frames only: an exception's message may carry request data (passwords, keys)."""
    frames = [f"{frame.filename}:{frame.lineno} {frame.name}" for frame in traceback.extract_tb(error.__traceback__)]
    details = {**extra, "error_type": type(error).__name__, "frames": frames[-8:]}
    # An AWS error's code (AccessDenied, ResourceNotFound, …) carries no request data and is what operators need.
    response = getattr(error, "response", None)
    if isinstance(response, dict) and isinstance(response.get("Error"), dict):
        details["aws_error_code"] = str(response["Error"].get("Code"))
    logger.error(message, extra=details)
