"""Bulk token creation: SQS messages (one command each) in, QR code PNGs and TokenDTOs to S3 out (issue #6).

Partial batch response: only messages that failed transiently are reported, so SQS retries exactly those.
"""

from __future__ import annotations

from nmshd_tokens.observability import logged_entry_point
from nmshd_tokens.sqs_trigger import sqs_batch

lambda_handler = logged_entry_point(sqs_batch)
