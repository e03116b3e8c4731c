"""Bulk token creation: SQS messages (one command each) in, QR code PNGs and TokenDTOs to S3 out.

Partial batch response: only messages that failed transiently are reported, so SQS retries exactly those.
"""

from __future__ import annotations

from nmshd_tokens.container import Container
from nmshd_tokens.entry_points.batch import sqs_batch_handler
from nmshd_tokens.entry_points.cold_start import build_in_init
from nmshd_tokens.observability import LambdaHandler


def create_handler(container: Container) -> LambdaHandler:
    return sqs_batch_handler(container.batch_token_creator())


container = build_in_init(Container.from_environment)  # built once per execution environment, at init
lambda_handler = create_handler(container)
