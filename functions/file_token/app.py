"""POST {/api/v2,/api/core/v1}/Files/{id}/Token, and its command: see nmshd_tokens.entry_points.token_creation."""

from __future__ import annotations

from nmshd_tokens.container import Container
from nmshd_tokens.entry_points.cold_start import build_in_init
from nmshd_tokens.entry_points.token_creation import FILE, creation_handler
from nmshd_tokens.observability import LambdaHandler


def create_handler(container: Container) -> LambdaHandler:
    return creation_handler(container, FILE)


container = build_in_init(Container.from_environment)  # built once per execution environment, at init
lambda_handler = create_handler(container)
