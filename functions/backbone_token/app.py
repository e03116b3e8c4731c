"""The embedded backbone's peer side: GET /backbone/api/v2/Tokens/{id} and the /backbone/r/{id} page."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from nmshd_tokens import wiring
from nmshd_tokens.http.api import create_resolver
from nmshd_tokens.http.pages import open_in_app_page
from nmshd_tokens.http.responses import json_response
from nmshd_tokens.observability import logged_entry_point
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


lambda_handler = logged_entry_point(app.resolve, correlation_paths.API_GATEWAY_REST)
