"""POST {/api/v2,/api/core/v1}/Tokens/Own - create an own token with the caller's content (SPEC §14).

JSON only (image/png is 406), as the Connector: 201 `{"result": TokenDTO}`, kept unless `ephemeral` is true.
"""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from nmshd_tokens.container import Container
from nmshd_tokens.domain.connector import Generation
from nmshd_tokens.domain.validation import parse_own_token_request
from nmshd_tokens.entry_points.api import api_handler
from nmshd_tokens.entry_points.cold_start import build_in_init
from nmshd_tokens.http.requests import backbone_base_url_for, generation_of, read_json_only_body
from nmshd_tokens.http.resolver import create_resolver
from nmshd_tokens.http.token_response import created_token_response
from nmshd_tokens.observability import LambdaHandler


def create_handler(container: Container) -> LambdaHandler:
    app = create_resolver()
    settings, own_tokens = container.settings, container.own_token_creation()

    @app.post(Generation.API_V2.prefix + "/Tokens/Own")
    @app.post(Generation.CORE_V1.prefix + "/Tokens/Own")
    def create_own_token() -> Response[str]:
        event = app.current_event
        request = parse_own_token_request(read_json_only_body(event))  # 406, invalid JSON, then the rules
        token = own_tokens.create(request, backbone_base_url_for(event, settings))
        return created_token_response(token, None, token.id, generation_of(event))

    return api_handler(app)


container = build_in_init(Container.from_environment)  # built once per execution environment, at init
lambda_handler = create_handler(container)
