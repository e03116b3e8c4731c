"""DELETE /api/core/v1/Tokens/{id}: revoke a kept token, on the backbone first, then its record (204)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from nmshd_tokens.container import Container
from nmshd_tokens.entry_points.api import api_handler
from nmshd_tokens.entry_points.cold_start import build_in_init
from nmshd_tokens.http.resolver import create_resolver
from nmshd_tokens.observability import LambdaHandler


def create_handler(container: Container) -> LambdaHandler:
    app = create_resolver()
    revocation = container.token_revocation()

    @app.delete("/api/core/v1/Tokens/<id>")
    def revoke_token(id: str) -> Response[str]:  # noqa: A002 - the route's parameter name
        revocation.revoke(id)
        return Response(status_code=204, body="")  # the Connector's noContent: no body, no content type

    return api_handler(app)


container = build_in_init(Container.from_environment)  # built once per execution environment, at init
lambda_handler = create_handler(container)
