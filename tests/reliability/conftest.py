"""A fresh `nmshd-tokens serve` per test (subprocess, free loopback ports), stopped in the fixture's teardown."""

from __future__ import annotations

import http.client
import json
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import API_KEY, Served, start_serve

__all__ = ["API_KEY", "Served", "call"]


def call(
    served: Served,
    method: str,
    path: str,
    *,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    key: str | None = API_KEY,
    timeout: float = 120,  # a safety net for a hung server: answers take milliseconds to a second
) -> tuple[int, dict[str, str], bytes]:
    """One request on a fresh connection: status, lower-cased headers, body."""
    connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=timeout)
    try:
        all_headers = dict(headers or {})
        if key is not None:
            all_headers.setdefault("x-api-key", key)
        connection.request(method, path, body=body, headers=all_headers)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def error_of(body: bytes) -> dict[str, Any]:
    error: dict[str, Any] = json.loads(body)["error"]
    return error


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    """Start `serve` (extra CLI arguments allowed); every server started is stopped with SIGINT afterwards."""
    started: list[Served] = []

    def start(*extra: str) -> Served:
        served = start_serve(tmp_path, *extra)
        started.append(served)
        return served

    yield start
    for served in started:
        status = served.stop(signal.SIGINT)
        assert status == 0, f"serve did not stop cleanly ({status}):\n{served.output[-2000:]}"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One `serve` shared by a module's tests (they create tokens; none depends on another's)."""
    server = start_serve(tmp_path_factory.mktemp("serve"))
    yield server
    status = server.stop(signal.SIGINT)
    assert status == 0, f"serve did not stop cleanly ({status}):\n{server.output[-2000:]}"


@pytest.fixture
def figures(
    request: pytest.FixtureRequest, record_property: Callable[[str, object], None]
) -> Callable[[str, Any], None]:
    """Report a measured figure: printed (`pytest -rA` or `-s` shows it), a JUnit property, and in the pytest
    cache (`pytest --cache-show 'reliability/*'` lists the last run's figures)."""

    def report(name: str, value: Any) -> None:
        print(f"[reliability] {name}: {json.dumps(value)}")
        record_property(name, value)
        cache = getattr(request.config, "cache", None)
        if cache is not None:
            cache.set(f"reliability/{name}", value)

    return report
