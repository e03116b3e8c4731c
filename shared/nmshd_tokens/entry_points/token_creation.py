"""The two creation functions: Create Token (JSON) or Token QR code (PNG) for a File or an own RelationshipTemplate.

POST {/api/v2,/api/core/v1}/Files/{id}/Token and …/RelationshipTemplates/Own/{id}/Token. Invoked directly with a
command (`{"fileId"|"templateId": …, "qrCode"?: true, …}`) a function answers `{"result": TokenDTO}`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from aws_lambda_powertools.event_handler import Response

from ..domain.connector import Generation
from ..domain.validation import IdField
from ..http.requests import backbone_base_url_for, generation_of, read_token_request
from ..http.resolver import create_resolver
from ..http.token_response import created_token_response
from .api import api_or_command_handler

if TYPE_CHECKING:
    from ..container import Container
    from ..observability import LambdaHandler


class CreationRoute(NamedTuple):  # not a dataclass: it is built at every cold start, a NamedTuple costs less
    id_field: IdField
    path: str  # below each route family's prefix, with the id as `<id>`


FILE = CreationRoute("fileId", "/Files/<id>/Token")
TEMPLATE = CreationRoute("templateId", "/RelationshipTemplates/Own/<id>/Token")


def creation_handler(container: Container, route: CreationRoute) -> LambdaHandler:
    app = create_resolver()
    settings, creation, commands = container.settings, container.token_creation(), container.token_commands()

    @app.post(Generation.API_V2.prefix + route.path)
    @app.post(Generation.CORE_V1.prefix + route.path)
    def create_token(id: str) -> Response[Any]:  # noqa: A002 - the route's parameter name
        event = app.current_event
        request = read_token_request(event, route.id_field, id, settings)
        token = creation.create(request, backbone_base_url_for(event, settings))
        return created_token_response(token, request.qr_form, id, generation_of(event))

    return api_or_command_handler(app, lambda command: commands.run(command, route.id_field))
