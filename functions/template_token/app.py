"""POST {/api/v2,/api/core/v1}/RelationshipTemplates/Own/{id}/Token: Create Token (JSON) or Token QR code (PNG)
for an own RelationshipTemplate.

Invoked directly with a command (`{"templateId": …, "qrCode"?: true, …}`) it answers `{"result": TokenDTO}`.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from nmshd_tokens.container import Container
from nmshd_tokens.entry_points.api import api_or_command_handler, at_init
from nmshd_tokens.http.api import backbone_base_url_for, create_resolver, generation_of, read_token_request
from nmshd_tokens.http.token_response import created_token_response
from nmshd_tokens.observability import LambdaHandler
from nmshd_tokens.usecases.commands import run_command


def create_handler(container: Container) -> LambdaHandler:
    app = create_resolver()
    settings, creation = container.settings, container.token_creation()

    @app.post("/api/v2/RelationshipTemplates/Own/<id>/Token")
    @app.post("/api/core/v1/RelationshipTemplates/Own/<id>/Token")
    def create_token_for_template(id: str) -> Response[Any]:  # noqa: A002 - the route's parameter name
        request = read_token_request(app.current_event, "templateId", id, settings)
        token = creation.for_template(request, backbone_base_url_for(app.current_event, settings))
        return created_token_response(token, request.qr_form, id, generation_of(app.current_event))

    def command(event: object) -> dict[str, Any]:
        return run_command(creation, event, "templateId", settings.qr_form, settings.command_backbone_base_url())

    return api_or_command_handler(app, command)


container = at_init(Container.from_environment)  # built once per execution environment, at init
lambda_handler = create_handler(container)
