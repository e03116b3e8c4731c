"""The kept tokens, read-only, under /api/v2 and /api/core/v1:
GET …/Tokens/{id} (JSON or its QR code PNG), GET …/Tokens/Own (list and query), GET …/Tokens/Peer (always empty).

`DELETE /api/v2/Tokens/{id}` lands here too: Connector 6 has no revoke, so it answers 405 with `Allow: GET`.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from nmshd_tokens.container import Container
from nmshd_tokens.domain.errors import ErrorKind
from nmshd_tokens.entry_points.api import api_handler
from nmshd_tokens.entry_points.cold_start import build_in_init
from nmshd_tokens.http.requests import generation_of, query_of, read_kept_token_qr_form, require_json
from nmshd_tokens.http.resolver import create_resolver
from nmshd_tokens.http.responses import kind_response
from nmshd_tokens.http.token_response import kept_token_response, token_list_response
from nmshd_tokens.observability import LambdaHandler


def create_handler(container: Container) -> LambdaHandler:
    app = create_resolver()
    settings, kept = container.settings, container.kept_tokens()

    # The literal routes first: /Tokens/Own is not a token id.
    @app.get("/api/v2/Tokens/Own")
    @app.get("/api/core/v1/Tokens/Own")
    def own_tokens() -> Response[str]:
        require_json(app.current_event)
        return token_list_response(kept.own(query_of(app.current_event)), generation_of(app.current_event))

    @app.get("/api/v2/Tokens/Peer")
    @app.get("/api/core/v1/Tokens/Peer")
    def peer_tokens() -> Response[str]:
        require_json(app.current_event)
        return token_list_response(kept.peer(query_of(app.current_event)), generation_of(app.current_event))

    @app.get("/api/v2/Tokens/<id>")
    @app.get("/api/core/v1/Tokens/<id>")
    def get_token(id: str) -> Response[Any]:  # noqa: A002 - the route's parameter name
        event = app.current_event
        qr_form = read_kept_token_qr_form(event, settings)  # 406 before the id is looked at
        return kept_token_response(kept.get(id), qr_form, id, generation_of(event))

    @app.delete("/api/v2/Tokens/<id>")
    def no_revoke_in_connector_6(id: str) -> Response[str]:  # noqa: A002 - the route's parameter name
        return kind_response(ErrorKind.METHOD_NOT_ALLOWED, {"Allow": "GET"})

    return api_handler(app)


container = build_in_init(Container.from_environment)  # built once per execution environment, at init
lambda_handler = create_handler(container)
