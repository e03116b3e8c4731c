"""BACKBONE_MODE and the device credentials: configuration, the Secrets Manager secret, the container."""

from __future__ import annotations

import json
from typing import Any

import pytest
from nmshd_tokens.config import BackboneCredentials, ConfigError, Settings
from nmshd_tokens.container import Container, credential_source
from nmshd_tokens.domain.errors import DomainError
from nmshd_tokens.storage.aws_clients import aws_client
from nmshd_tokens.storage.embedded_backbone import DynamoBackbone
from nmshd_tokens.storage.remote_backbone import RemoteBackbone
from nmshd_tokens.storage.secrets import SecretsManagerCredentials

CREDENTIALS = {
    "BACKBONE_CLIENT_ID": "client",
    "BACKBONE_CLIENT_SECRET": "client-secret-value",
    "BACKBONE_USERNAME": "USRabcdefghij0123456",
    "BACKBONE_PASSWORD": "device-password-value",
}
REMOTE = {"BACKBONE_MODE": "remote", "BACKBONE_BASE_URL": "https://pilot.enmeshed.eu/"}


def test_embedded_is_the_default() -> None:
    settings = Settings.from_env({})
    assert settings.backbone_mode == "embedded" and settings.backbone_credentials is None


def test_remote_mode_with_credentials_from_the_environment() -> None:
    settings = Settings.from_env(REMOTE | CREDENTIALS)
    assert settings.backbone_mode == "remote"
    assert settings.backbone_base_url == "https://pilot.enmeshed.eu"
    assert settings.backbone_credentials == BackboneCredentials(
        "client", "client-secret-value", "USRabcdefghij0123456", "device-password-value"
    )
    assert "value" not in repr(settings) and "value" not in repr(settings.backbone_credentials)


def test_remote_mode_with_a_secret() -> None:
    settings = Settings.from_env(REMOTE | {"BACKBONE_CREDENTIALS_SECRET": "nmshd/backbone-device"})
    assert settings.backbone_credentials_secret == "nmshd/backbone-device"
    assert settings.backbone_credentials is None


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"BACKBONE_MODE": "cloud"}, "BACKBONE_MODE"),
        ({"BACKBONE_MODE": "remote"} | CREDENTIALS, "BACKBONE_BASE_URL"),
        (REMOTE, "BACKBONE_CREDENTIALS_SECRET"),
        (REMOTE | {"BACKBONE_CLIENT_ID": "client"}, "BACKBONE_PASSWORD"),
        ({**REMOTE, "BACKBONE_BASE_URL": "ftp://x"} | CREDENTIALS, "BACKBONE_BASE_URL"),
    ],
)
def test_a_wrong_setting_names_its_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        Settings.from_env(env)


def test_embedded_mode_ignores_partial_credentials() -> None:
    assert Settings.from_env({"BACKBONE_CLIENT_ID": "client"}).backbone_mode == "embedded"


def test_the_container_chooses_the_adapter() -> None:
    assert isinstance(Container.from_settings(Settings.from_env({})).backbone, DynamoBackbone)
    container = Container.from_settings(Settings.from_env(REMOTE | CREDENTIALS))
    backbone = container.backbone
    assert isinstance(backbone, RemoteBackbone) and backbone.base_url == "https://pilot.enmeshed.eu"
    # One per container, and one container per process: the login is shared by warm invocations.
    assert container.token_creation().publisher is backbone


def test_the_secret_is_read_only_when_configured() -> None:
    settings = Settings.from_env(
        REMOTE | {"BACKBONE_CREDENTIALS_SECRET": "arn:aws:secretsmanager:eu-central-1:1:secret:x"}
    )
    source = credential_source(settings)
    assert isinstance(source, SecretsManagerCredentials) and source.secret_id.endswith(":secret:x")


class CountingClient:
    def __init__(self, secret: str | None = None, error: Exception | None = None) -> None:
        self.secret, self.error, self.calls = secret, error, 0

    def get_secret_value(self, SecretId: str) -> dict[str, Any]:  # noqa: N803 - boto3's parameter name
        self.calls += 1
        if self.error:
            raise self.error
        return {"Name": SecretId, "SecretString": self.secret}


SECRET = json.dumps({"clientId": "c", "clientSecret": "cs", "username": "USRx", "password": "pw"})


def test_the_secret_is_read_once_and_again_after_forget() -> None:
    client = CountingClient(SECRET)
    source = SecretsManagerCredentials("s", lambda: client)  # type: ignore[arg-type,return-value]
    assert source.get() == BackboneCredentials("c", "cs", "USRx", "pw")
    source.get()
    assert client.calls == 1
    source.forget()
    source.get()
    assert client.calls == 2


@pytest.mark.parametrize(
    "secret",
    ["not json", "[]", json.dumps({"clientId": "c", "clientSecret": "LEAKED-IF-LOGGED", "username": "USRx"}), ""],
)
def test_a_malformed_secret_is_503_and_logged_without_values(secret: str, caplog: pytest.LogCaptureFixture) -> None:
    source = SecretsManagerCredentials("s", lambda: CountingClient(secret))  # type: ignore[arg-type,return-value]
    with pytest.raises(DomainError) as caught:
        source.get()
    assert caught.value.status == 503
    assert "BACKBONE_CREDENTIALS_SECRET" in caplog.text and "LEAKED" not in caplog.text


def test_secrets_manager_through_moto(monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3
    from moto import mock_aws

    with mock_aws():
        boto3.client("secretsmanager", region_name="eu-central-1").create_secret(Name="device", SecretString=SECRET)
        client = aws_client("secretsmanager", "eu-central-1")
        assert SecretsManagerCredentials("device", lambda: client).get().username == "USRx"
        with pytest.raises(DomainError) as caught:
            SecretsManagerCredentials("missing", lambda: client).get()
        assert caught.value.status == 503


@pytest.mark.parametrize("url", ["http://pilot.enmeshed.eu", "http://10.0.0.7:8080", "http://backbone.local"])
def test_remote_mode_refuses_clear_text_to_a_network_backbone(url: str) -> None:
    """The login sends the OAuth client secret and the device password: https only, off loopback."""
    with pytest.raises(ConfigError, match="BACKBONE_BASE_URL must be an https URL"):
        Settings.from_env({"BACKBONE_MODE": "remote", "BACKBONE_BASE_URL": url} | CREDENTIALS)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8123", "http://localhost:8123", "http://[::1]:8123"])
def test_remote_mode_allows_http_to_a_loopback_standin(url: str) -> None:
    assert Settings.from_env({"BACKBONE_MODE": "remote", "BACKBONE_BASE_URL": url} | CREDENTIALS).backbone_base_url
