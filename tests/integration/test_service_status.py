"""GET /health and GET /Monitoring/Version through the real handler (SPEC §13), embedded mode on moto."""

from __future__ import annotations

import platform
from typing import Any

import pytest
from nmshd_tokens.version import VERSION

from tests.conftest import BACKBONE_TABLE, RECORDS_TABLE
from tests.support import Functions, api_event, header, json_body, load_handler


def call(functions: Functions, path: str) -> dict[str, Any]:
    return functions.invoke("service_status", api_event(path, None, method="GET"))


def test_healthy(functions: Functions) -> None:
    response = call(functions, "/health")
    assert response["statusCode"] == 200
    assert json_body(response) == {  # the Connector's shape: no envelope, no "result"
        "isHealthy": True,
        "services": {"database": "healthy", "backboneConnection": "healthy", "backboneAuthentication": "healthy"},
    }


@pytest.mark.parametrize(("table", "service"), [(RECORDS_TABLE, "database"), (BACKBONE_TABLE, "backboneConnection")])
def test_a_dependency_that_does_not_answer_is_unhealthy_and_500(
    functions: Functions, aws: Any, table: str, service: str
) -> None:
    aws.delete_table(TableName=table)
    response = call(functions, "/health")
    assert response["statusCode"] == 500
    report = json_body(response)
    assert report["isHealthy"] is False and report["services"][service] == "unhealthy"
    assert [name for name, state in report["services"].items() if state == "unhealthy"] == [service]


def test_the_health_probes_are_single_quick_calls(aws: Any) -> None:
    """The function's own container (its init, not the tests'): one attempt, at most a second each."""
    config = load_handler("service_status").probing_container().records.client.meta.config
    assert config.retries["total_max_attempts"] == 1
    assert config.read_timeout <= 1 and config.connect_timeout <= 1


def test_version(functions: Functions) -> None:
    response = call(functions.configured(commit="0123abc"), "/Monitoring/Version")
    assert response["statusCode"] == 200
    assert json_body(response) == {
        "version": VERSION,
        "build": "local",
        "date": "",
        "commit": "0123abc",
        "runtimeVersion": platform.python_version(),
        "modules": {},
    }
    assert header(response, "Content-Type") == "application/json; charset=utf-8"
