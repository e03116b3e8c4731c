"""POST {/api/v2,/api/core/v1}/Tokens/Peer: load a peer's token by its reference, and keep it unless ephemeral."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from nmshd_tokens.container import Container
from nmshd_tokens.domain.connector import Generation
from nmshd_tokens.entry_points.api import api_handler
from nmshd_tokens.entry_points.cold_start import build_in_init
from nmshd_tokens.http.requests import backbone_base_url_for, generation_of, read_json_only_body
from nmshd_tokens.http.resolver import create_resolver
from nmshd_tokens.http.token_response import created_dto_response
from nmshd_tokens.observability import LambdaHandler
from nmshd_tokens.usecases.peer_tokens import parse_peer_token_request


def create_handler(container: Container) -> LambdaHandler:
    app = create_resolver()
    settings, loading = container.settings, container.peer_token_loading()

    @app.post(Generation.API_V2.prefix + "/Tokens/Peer")
    @app.post(Generation.CORE_V1.prefix + "/Tokens/Peer")
    def load_peer_token() -> Response[str]:
        event = app.current_event
        request = parse_peer_token_request(read_json_only_body(event))  # 406, invalid JSON, then validation
        token = loading.load(request, backbone_base_url_for(event, settings))
        return created_dto_response(token, generation_of(event))

    return api_handler(app)


container = build_in_init(Container.from_environment)  # built once per execution environment, at init
lambda_handler = create_handler(container)
