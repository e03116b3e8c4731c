"""POST {/api/v2,/api/core/v1}/Tokens/Peer: load a peer's token by its reference, and keep it unless ephemeral."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from nmshd_tokens.container import Container
from nmshd_tokens.domain.connector import Generation
from nmshd_tokens.entry_points.api import api_handler
from nmshd_tokens.entry_points.cold_start import build_in_init
from nmshd_tokens.http.body import parse_json_body
from nmshd_tokens.http.requests import backbone_base_url_for, generation_of, require_json
from nmshd_tokens.http.resolver import create_resolver
from nmshd_tokens.http.responses import json_response
from nmshd_tokens.observability import LambdaHandler
from nmshd_tokens.usecases.peer_tokens import parse_peer_token_request


def create_handler(container: Container) -> LambdaHandler:
    app = create_resolver()
    settings, loading = container.settings, container.peer_token_loading()

    @app.post(Generation.API_V2.prefix + "/Tokens/Peer")
    @app.post(Generation.CORE_V1.prefix + "/Tokens/Peer")
    def load_peer_token() -> Response[str]:
        event = app.current_event
        require_json(event)  # the Connector's order: 406, then invalid JSON, then validation
        request = parse_peer_token_request(parse_json_body(event.body, bool(event.is_base64_encoded)))
        token = loading.load(request, backbone_base_url_for(event, settings))
        # `Location: _`: what the Connector's created() sends.
        return json_response(201, {"result": token.to_dto(generation_of(event))}, {"Location": "_"})

    return api_handler(app)


container = build_in_init(Container.from_environment)  # built once per execution environment, at init
lambda_handler = create_handler(container)
