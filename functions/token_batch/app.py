"""Bulk token creation: SQS messages (one command each) in, QR code PNGs and TokenDTOs to S3 out (issue #6).

Partial batch response: only messages that failed transiently are reported, so SQS retries exactly those.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from nmshd_tokens.observability import logger
from nmshd_tokens.triggers import sqs_batch


# log_event=False whatever POWERTOOLS_LOGGER_LOG_EVENT says: messages carry passwords.
@logger.inject_lambda_context(clear_state=True, log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return sqs_batch(event, context)
