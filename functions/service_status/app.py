"""GET /health (no API key) and GET /Monitoring/Version, as the Connector answers them (no error envelope)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from nmshd_tokens.config import Settings
from nmshd_tokens.container import Container
from nmshd_tokens.entry_points.api import api_handler
from nmshd_tokens.entry_points.cold_start import build_in_init
from nmshd_tokens.http.resolver import create_resolver
from nmshd_tokens.http.responses import json_response
from nmshd_tokens.observability import LambdaHandler
from nmshd_tokens.storage.aws_clients import aws_client


def create_handler(container: Container) -> LambdaHandler:
    app = create_resolver()
    health, build = container.health(), container.build_info()

    @app.get("/health")
    def report_health() -> Response[str]:
        report = health.report()
        return json_response(200 if report["isHealthy"] else 500, report)

    @app.get("/Monitoring/Version")
    def report_version() -> Response[str]:
        return json_response(200, build.report())

    return api_handler(app)


def probing_container() -> Container:
    """A health check must answer quickly: its DynamoDB client tries once, for at most a second."""
    settings = Settings.from_env()
    return Container.from_settings(settings, aws_client("dynamodb", settings.region, read_timeout=1.0, retries=0))


container = build_in_init(probing_container)  # built once per execution environment, at init
lambda_handler = create_handler(container)
