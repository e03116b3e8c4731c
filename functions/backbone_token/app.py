"""The embedded backbone's peer side: GET /backbone/api/v2/Tokens/{id} and the /backbone/r/{id} page."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from nmshd_tokens.container import Container
from nmshd_tokens.entry_points.api import api_handler
from nmshd_tokens.entry_points.cold_start import build_in_init
from nmshd_tokens.http.pages import PAGE_HEADERS, open_in_app_page
from nmshd_tokens.http.resolver import create_resolver
from nmshd_tokens.http.responses import json_response
from nmshd_tokens.observability import LambdaHandler


def create_handler(container: Container) -> LambdaHandler:
    app = create_resolver()
    peer_loading = container.peer_loading()

    @app.get("/backbone/api/v2/Tokens/<id>")
    def get_token(id: str) -> Response[str]:  # noqa: A002 - the route's parameter name
        password = app.current_event.get_query_string_value("password")
        return json_response(200, {"result": peer_loading.load(id, password)})

    @app.get("/backbone/r/<id>")
    def reference_page(id: str) -> Response[str]:  # noqa: A002 - the route's parameter name
        found = peer_loading.exists(id)
        return Response(
            status_code=200 if found else 404,
            content_type="text/html; charset=utf-8",
            body=open_in_app_page(found),
            headers=dict(PAGE_HEADERS),  # a copy: Response adds Content-Type to the dict it gets
        )

    return api_handler(app)


container = build_in_init(Container.from_environment)  # built once per execution environment, at init
lambda_handler = create_handler(container)
