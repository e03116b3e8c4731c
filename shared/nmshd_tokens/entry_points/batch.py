"""The batch function's entry point: SQS messages, one command each; partial batch responses.

Nothing here logs a message body (it may hold a password): ids, codes and exception types only.
"""

from __future__ import annotations

from typing import Any

from ..domain.errors import DomainError
from ..observability import LambdaHandler, log_unexpected, logged_entry_point, logger
from ..usecases.batch import BatchTokenCreator, Message

# Stop taking messages this close to the function's timeout (60 s in template.yaml): the rest are reported and
# come back, instead of the whole batch (finished messages included) being redelivered after a timeout, which
# costs every message a receive on its way to the DLQ. One slow message fits: the remote Backbone's 7 s retry
# budget plus an S3 write with its retries.
TIME_RESERVE_MS = 15_000


def sqs_batch_handler(creator: BatchTokenCreator) -> LambdaHandler:
    def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
        """The ids of the messages SQS should deliver again (transient failures only)."""
        failures: list[dict[str, str]] = []
        given_back = 0
        for record in event.get("Records") or []:
            message_id = str(record["messageId"])
            if given_back or context.get_remaining_time_in_millis() < TIME_RESERVE_MS:
                given_back += 1
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
        if given_back:
            # Visible, so that a lowered timeout shows up here instead of as silent redeliveries.
            logger.warning(
                "messages given back: too little time left before the function's timeout",
                extra={
                    "given_back": given_back,
                    "remaining_ms": context.get_remaining_time_in_millis(),
                    "time_reserve_ms": TIME_RESERVE_MS,
                },
            )
        return {"batchItemFailures": failures}

    return logged_entry_point(handle)
