"""Helpers shared by the tests: the functions of a deployment, real API Gateway events, QR decoding, seeding."""

from __future__ import annotations

import base64
import importlib.util
import io
import json
import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any
from unittest.mock import patch

if TYPE_CHECKING:
    from nmshd_tokens.config import Settings
    from nmshd_tokens.container import Container
    from nmshd_tokens_local.standin_backbone import StandinBackbone, StandinDevice

ROOT = Path(__file__).resolve().parents[1]
API_STAGE = "v1"
API_DOMAIN = "abc123.execute-api.eu-central-1.amazonaws.com"
BACKBONE_BASE_URL = f"https://{API_DOMAIN}/{API_STAGE}/backbone"

ROUTES = {
    "file_token": ("POST", "/api/v2/Files/{id}/Token"),
    "template_token": ("POST", "/api/v2/RelationshipTemplates/Own/{id}/Token"),
    "backbone_token": ("GET", "/backbone/api/v2/Tokens/{id}"),
    "backbone_page": ("GET", "/backbone/r/{id}"),
    "token_read": ("GET", "/api/v2/Tokens/{id}"),
    "token_revoke": ("DELETE", "/api/core/v1/Tokens/{id}"),
    "peer_token": ("POST", "/api/v2/Tokens/Peer"),
}
V7 = "/api/core/v1"  # Connector 7's prefix; ROUTES use Connector 6's /api/v2


def load_handler(name: str) -> ModuleType:
    """Import functions/<name>/app.py under a unique module name (every handler file is called app.py)."""
    module_name = f"handler_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, ROOT / "functions" / name / "app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        with patch.dict(os.environ, INIT_ENVIRONMENT):
            spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module


Handler = Callable[[dict[str, Any], Any], Any]
# Importing a handler module runs its Lambda init (`Container.from_environment()`); the tests never use what that
# init built (they pass their own container to `create_handler`), so it runs with a complete environment.
INIT_ENVIRONMENT = {"BACKBONE_MODE": "embedded", "BACKBONE_BASE_URL": BACKBONE_BASE_URL, "TOKEN_OUTPUT_BUCKET": "init"}


class Functions:
    """The Lambda functions of one deployment, for one test: one container built directly from `settings`, on the
    test's DynamoDB client (so faults a test injects into that client reach the handlers), as each function builds
    its own at init. `configured(...)` is the same deployment with other settings."""

    def __init__(self, settings: Settings, dynamodb: Any) -> None:
        self.settings = settings
        self.dynamodb = dynamodb
        self._handlers: dict[str, Handler] = {}

    @cached_property
    def container(self) -> Container:
        from nmshd_tokens.container import Container

        return Container.from_settings(self.settings, self.dynamodb)

    def configured(self, **changes: Any) -> Functions:
        """These functions with some settings changed (`Settings` field names), on the same DynamoDB client."""
        return Functions(replace(self.settings, **changes), self.dynamodb)

    def from_env(self, env: Mapping[str, str]) -> Functions:
        """These functions with the settings `Settings.from_env` reads from `env` (and these tables): the real
        configuration path, for tests of how a variable is read."""
        from nmshd_tokens.config import Settings

        tables = {"RECORDS_TABLE": self.settings.records_table, "BACKBONE_TABLE": self.settings.backbone_table}
        return Functions(Settings.from_env(tables | dict(env)), self.dynamodb)

    def against(self, standin: StandinBackbone, login: StandinDevice | None = None) -> Functions:
        """These functions in remote mode against a stand-in Backbone, as its device; with `login`, logging in
        with that device's username and password instead."""
        from nmshd_tokens.storage.secrets import BackboneCredentials

        device = standin.device
        login = login or device
        return self.configured(
            backbone_mode="remote",
            backbone_base_url=standin.base_url,
            backbone_credentials=BackboneCredentials(
                device.client_id, device.client_secret, login.username, login.password
            ),
            service_address=device.address,
            device_id=device.device_id,
        )

    def handler(self, name: str) -> Handler:
        """functions/<name>'s handler on this container, built once, as the function builds it at init."""
        if name not in self._handlers:
            self._handlers[name] = load_handler(name).create_handler(self.container)
        return self._handlers[name]

    def invoke(self, name: str, event: Any) -> dict[str, Any]:
        response: dict[str, Any] = self.handler(name)(event, FakeContext())
        return response


class FakeContext:
    function_name = "test-function"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:eu-central-1:123456789012:function:test-function"
    aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000  # a fresh invocation of the batch function (Timeout: 60)


def api_event(
    resource: str,
    path_id: str | None,
    *,
    method: str = "POST",
    body: Any = None,
    accept: str | None = None,
    query: dict[str, str] | None = None,
    multi_query: dict[str, list[str]] | None = None,
    headers: dict[str, str] | None = None,
    raw_body: str | None = None,
) -> dict[str, Any]:
    """An API Gateway REST (payload v1) proxy event as API Gateway sends it for `resource` (with {id}, if given).

    `multi_query` gives a key several values (`a=1&a=2`); `query` one each.
    """
    all_headers = {"Host": API_DOMAIN, "x-api-key": "test-key", "Content-Type": "application/json"}
    if accept is not None:
        all_headers["Accept"] = accept
    all_headers.update(headers or {})
    path = resource if path_id is None else resource.replace("{id}", path_id)
    if raw_body is None and body is not None:
        raw_body = json.dumps(body)
    multi = multi_query or ({key: [value] for key, value in query.items()} if query else None)
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {key: [value] for key, value in all_headers.items()},
        "queryStringParameters": {key: values[-1] for key, values in multi.items()} if multi else None,
        "multiValueQueryStringParameters": multi,
        "pathParameters": None if path_id is None else {"id": path_id},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/{API_STAGE}{path}",
            "stage": API_STAGE,
            "domainName": API_DOMAIN,
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "accountId": "123456789012",
            "apiId": "abc123",
            "protocol": "HTTP/1.1",
            "identity": {"sourceIp": "127.0.0.1", "apiKey": "test-key"},
        },
        "body": raw_body,
        "isBase64Encoded": False,
    }


def json_body(response: dict[str, Any]) -> Any:
    return json.loads(response["body"])


def error_of(response: dict[str, Any]) -> tuple[int, str, str]:
    """An error answer as (status, code, message)."""
    error = json_body(response)["error"]
    return response["statusCode"], error["code"], error["message"]


def header(response: dict[str, Any], name: str) -> str | None:
    for source in (response.get("headers") or {}, response.get("multiValueHeaders") or {}):
        for key, value in source.items():
            if key.lower() == name.lower():
                return value[0] if isinstance(value, list) else value
    return None


def png_bytes(response: dict[str, Any]) -> bytes:
    assert response["isBase64Encoded"] is True
    return base64.b64decode(response["body"])


def decode_qr(png: bytes) -> str:
    import zxingcpp
    from PIL import Image

    # QR codes only: zxing sometimes also "finds" a 1-D ITF barcode inside a QR symbol's modules.
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)), formats=zxingcpp.BarcodeFormat.QRCode)
    assert len(results) == 1, f"expected one QR code, found {len(results)}"
    return str(results[0].text)


def future(days: int = 30) -> datetime:
    return datetime.now(UTC) + timedelta(days=days)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def token_draft(
    content_cipher: str,
    created_by: str,
    created_by_device: str,
    expires_at: datetime,
    for_identity: str | None = None,
    password_hash: bytes | None = None,
    ephemeral: bool = True,
) -> Any:
    """A TokenDraft with the fields a Backbone create request carries (the rest is filler the Backbone never sees)."""
    from nmshd_tokens.domain.tokens import TokenDetails, TokenDraft

    details = TokenDetails(
        content={"@type": "TokenContentFile"},
        secret_key=b"k" * 32,
        created_by=created_by,
        created_by_device=created_by_device,
        expires_at=expires_at,
        backbone_base_url="https://backbone.example.com",
        ephemeral=ephemeral,
        for_identity=for_identity,
    )
    return TokenDraft(details, content_cipher, password_hash)


class FakeClock:
    """One fake time for a test's both sides: a stand-in Backbone reads `now`, a client's session `monotonic`."""

    def __init__(self) -> None:
        self.start = datetime.now(UTC)
        self.offset = 0.0

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.offset)

    def monotonic(self) -> float:
        return 1000.0 + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


def fresh_interpreter_state(script: str, app: Path, env: Mapping[str, str]) -> dict[str, Any]:
    """Runs `script` (given the path of a function's app.py as argv[1]) in a fresh interpreter, as a Lambda init
    would start, and returns the JSON object it prints last."""
    result = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", script, str(app)],
        env=dict(env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    state: dict[str, Any] = json.loads(result.stdout.splitlines()[-1])
    return state
