"""The embedded backbone's peer side: GET /backbone/api/v2/Tokens/{id} and the /backbone/r/{id} page."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from nmshd_tokens import wiring
from nmshd_tokens.http.api import create_resolver
from nmshd_tokens.http.pages import open_in_app_page
from nmshd_tokens.http.responses import json_response
from nmshd_tokens.observability import logger
from nmshd_tokens.usecases.fetch_token import fetch_token_for_peer, token_exists

app = create_resolver()


@app.get("/backbone/api/v2/Tokens/<id>")
def get_token(id: str) -> Response[str]:  # noqa: A002 - the route's parameter name
    password = app.current_event.get_query_string_value("password")
    return json_response(200, {"result": fetch_token_for_peer(wiring.backbone(), id, password)})


@app.get("/backbone/r/<id>")
def reference_page(id: str) -> Response[str]:  # noqa: A002 - the route's parameter name
    found = token_exists(wiring.backbone(), id)
    return Response(
        status_code=200 if found else 404,
        content_type="text/html; charset=utf-8",
        body=open_in_app_page(found),
    )


# log_event=False whatever POWERTOOLS_LOGGER_LOG_EVENT says: events carry passwords and keys.
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True, log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
