"""The non-HTTP entry points of the token functions: direct invocation and SQS batches (SPEC §10, issue #6).

Nothing here logs a command or message body (it may hold a password): ids, codes and exception types only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from . import wiring
from .domain.errors import DomainError, ErrorKind
from .domain.validation import IdField
from .observability import log_unexpected, logger
from .usecases.batch import Message
from .usecases.commands import command_error, run_command

LambdaHandler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]

# Stop taking messages this close to the function's timeout: the rest are reported and come back, instead of
# the whole batch (finished messages included) being redelivered after a timeout.
TIME_RESERVE_MS = 5_000


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


def sqs_batch(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Partial batch response: the ids of the messages SQS should deliver again (transient failures only)."""
    creator = wiring.batch_token_creator()  # a configuration error fails the whole batch: nothing can succeed
    failures: list[dict[str, str]] = []
    for record in event.get("Records") or []:
        message_id = str(record["messageId"])
        if context.get_remaining_time_in_millis() < TIME_RESERVE_MS:
            failures.append({"itemIdentifier": message_id})
            continue
        try:
            outcome = creator.process(Message(message_id, record.get("body")))
            logger.info("message processed", extra={"message_id": message_id, "outcome": outcome.value})
        except DomainError as error:  # transient (503, 429): SQS retries, finally the dead-letter queue
            logger.warning("message will be retried", extra={"message_id": message_id, "error_code": error.code})
            failures.append({"itemIdentifier": message_id})
        except Exception as error:
            log_unexpected(error, "unexpected error, message will be retried", message_id=message_id)
            failures.append({"itemIdentifier": message_id})
    return {"batchItemFailures": failures}


def token_function_handler(app: APIGatewayRestResolver, id_field: IdField) -> LambdaHandler:
    """The Lambda entry point of a token function: API Gateway events go to `app`, anything else is a command."""

    # log_event=False whatever POWERTOOLS_LOGGER_LOG_EVENT says: events carry passwords and keys.
    @logger.inject_lambda_context(
        correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True, log_event=False
    )
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        if is_api_gateway_event(event):
            return app.resolve(event, context)
        return direct_invocation(id_field, event)  # sam local invoke, Step Functions, SDK

    return lambda_handler
