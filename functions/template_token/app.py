"""POST /api/v2/RelationshipTemplates/Own/{id}/Token: Create Token (JSON) or Token QR code (PNG)
for an own RelationshipTemplate.

Invoked directly with a command (`{"templateId": …, "qrCode"?: true, …}`) it answers `{"result": TokenDTO}`.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from nmshd_tokens.http.api import create_resolver, read_token_call, token_service_for
from nmshd_tokens.http.token_response import token_response
from nmshd_tokens.triggers import token_function_handler

app = create_resolver()


@app.post("/api/v2/RelationshipTemplates/Own/<id>/Token")
def create_token_for_template(id: str) -> Response[Any]:  # noqa: A002 - the route's parameter name
    call = read_token_call(app.current_event, "templateId", id)
    token = token_service_for(app.current_event).create_for_template(call.request)
    return token_response(token, call, id)


lambda_handler = token_function_handler(app, "templateId")
