"""Odd input that must still get a clear 4xx, never a 500 or a half-published token, through every trigger."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from nmshd_tokens.config import ConfigError, Settings
from nmshd_tokens.entry_points.api import CommandFailed

from tests.conftest import BACKBONE_TABLE
from tests.support import BACKBONE_BASE_URL, ROUTES, Functions, api_event, future, iso, json_body

Factory = Callable[..., Any]
LONE_SURROGATE = "\ud800"
NOT_UNICODE = "passwordProtection/password must be valid Unicode text (no unpaired surrogates)"
INVALID = "error.runtime.validation.invalidPropertyValue"


def published_tokens(aws: Any) -> int:
    return len(aws.scan(TableName=BACKBONE_TABLE).get("Items", []))


def file_token_event(file_id: str, body: dict[str, Any], **options: Any) -> dict[str, Any]:
    return api_event(ROUTES["file_token"][1], file_id, body=body, accept="application/json", **options)


def test_a_lone_surrogate_password_is_a_400_over_http(functions: Functions, aws: Any, make_file: Factory) -> None:
    file = make_file()
    # json.dumps writes the escape "\ud800": valid JSON, but no Unicode text.
    event = file_token_event(file.id, {"expiresAt": iso(future()), "passwordProtection": {"password": LONE_SURROGATE}})
    response = functions.invoke("file_token", event)
    assert response["statusCode"] == 400
    assert json_body(response)["error"]["message"] == NOT_UNICODE
    assert published_tokens(aws) == 0


def test_a_lone_surrogate_password_is_refused_in_a_command(with_base_url: Functions, make_file: Factory) -> None:
    command = {"fileId": make_file().id, "passwordProtection": {"password": "ab" + LONE_SURROGATE}}
    with pytest.raises(CommandFailed) as caught:
        with_base_url.invoke("file_token", command)
    assert type(caught.value).__name__ == INVALID and str(caught.value) == NOT_UNICODE
    assert published_tokens(with_base_url.dynamodb) == 0


def test_a_command_carrying_an_api_gateway_key_is_still_a_command(with_base_url: Functions, make_file: Factory) -> None:
    # Extra properties of a command are ignored, as the HTTP body's are; it is not mistaken for an HTTP event.
    result = with_base_url.invoke("file_token", {"fileId": make_file().id, "httpMethod": "POST"})
    assert result["result"]["id"].startswith("TOK")
    assert published_tokens(with_base_url.dynamodb) == 1


@pytest.mark.parametrize("host", ["evil.example/x?y=", "user@evil.example", "a|b"])
def test_a_host_header_that_cannot_make_a_reference_is_a_400_before_publishing(
    functions: Functions, aws: Any, make_file: Factory, host: str
) -> None:
    event = file_token_event(make_file().id, {"expiresAt": iso(future())}, headers={"Host": host})
    event["requestContext"].pop("domainName")  # as the local emulator sends it: the Host header decides
    response = functions.invoke("file_token", event)
    assert response["statusCode"] == 400
    assert json_body(response)["error"]["message"] == "the Host header must be a host name, optionally with a port"
    assert published_tokens(aws) == 0


def test_with_a_configured_base_url_the_host_header_plays_no_part(with_base_url: Functions, make_file: Factory) -> None:
    event = file_token_event(make_file().id, {"expiresAt": iso(future())}, headers={"Host": "a|b"})
    event["requestContext"].pop("domainName")
    response = with_base_url.invoke("file_token", event)
    assert response["statusCode"] == 201
    assert json_body(response)["result"]["reference"]["url"].startswith(BACKBONE_BASE_URL + "/r/")


@pytest.mark.parametrize(
    "url", ["https://backbone.example?x=1", "https://user@backbone.example", "https://b.example/#x", "https://"]
)
def test_a_base_url_that_cannot_make_a_reference_fails_at_start_up(url: str) -> None:
    with pytest.raises(ConfigError, match="BACKBONE_BASE_URL"):
        Settings.from_env({"BACKBONE_BASE_URL": url})


def test_powertools_debug_mode_does_not_print_events(
    functions: Functions,
    make_file: Factory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("POWERTOOLS_DEV", "1")
    monkeypatch.setenv("POWERTOOLS_EVENT_HANDLER_DEBUG", "1")
    secret = "debug-mode-secret-4711"
    body = {"expiresAt": iso(future()), "passwordProtection": {"password": secret}}
    # The resolver reads the debug settings when it is built: at this test's first invoke.
    response = functions.invoke("file_token", file_token_event(make_file().id, body))
    assert response["statusCode"] == 201
    captured = capsys.readouterr()
    assert secret not in captured.out + captured.err + caplog.text


def test_an_unexpected_aws_error_is_logged_with_its_code_only(
    functions: Functions,
    aws: Any,
    make_file: Factory,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from botocore.exceptions import ClientError

    def denied(*_: Any, **__: Any) -> Any:
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "secret-ish detail"}}, "GetItem")

    file = make_file()
    monkeypatch.setattr(type(aws), "get_item", denied)
    response = functions.invoke("file_token", file_token_event(file.id, {}))
    assert response["statusCode"] == 500
    logged = [record.__dict__ for record in caplog.records if record.__dict__.get("error_type")]
    assert [fields["aws_error_code"] for fields in logged] == ["AccessDeniedException"]
    assert "secret-ish detail" not in caplog.text and file.id not in caplog.text
