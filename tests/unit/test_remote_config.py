"""BACKBONE_MODE and the device credentials: configuration, the Secrets Manager secret, the wiring."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from nmshd_tokens import wiring
from nmshd_tokens.config import ConfigError, Settings
from nmshd_tokens.domain.errors import DomainError
from nmshd_tokens.storage.dynamodb import DynamoBackbone
from nmshd_tokens.storage.remote_backbone import RemoteBackbone
from nmshd_tokens.storage.secrets import BackboneCredentials, SecretsManagerCredentials

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


@pytest.fixture
def fresh_wiring(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for name in [*REMOTE, *CREDENTIALS, "BACKBONE_CREDENTIALS_SECRET"]:
        monkeypatch.delenv(name, raising=False)
    wiring.reset()
    yield monkeypatch
    wiring.reset()


def test_wiring_chooses_the_adapter(fresh_wiring: pytest.MonkeyPatch) -> None:
    assert isinstance(wiring.backbone(), DynamoBackbone)
    for name, value in (REMOTE | CREDENTIALS).items():
        fresh_wiring.setenv(name, value)
    wiring.reset()
    backbone = wiring.backbone()
    assert isinstance(backbone, RemoteBackbone) and backbone.base_url == "https://pilot.enmeshed.eu"
    assert wiring.backbone() is backbone  # one per process: the login is shared by warm invocations
    assert wiring.token_service("https://unused.example").backbone_base_url == "https://pilot.enmeshed.eu"


def test_wiring_reads_the_secret_only_when_configured(fresh_wiring: pytest.MonkeyPatch) -> None:
    for name, value in REMOTE.items():
        fresh_wiring.setenv(name, value)
    fresh_wiring.setenv("BACKBONE_CREDENTIALS_SECRET", "arn:aws:secretsmanager:eu-central-1:1:secret:x")
    wiring.reset()
    source = wiring.credential_source(wiring.settings())
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
    source = SecretsManagerCredentials("s", client)  # type: ignore[arg-type]
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
    source = SecretsManagerCredentials("s", CountingClient(secret))  # type: ignore[arg-type]
    with pytest.raises(DomainError) as caught:
        source.get()
    assert caught.value.status == 503
    assert "BACKBONE_CREDENTIALS_SECRET" in caplog.text and "LEAKED" not in caplog.text


def test_secrets_manager_through_moto(monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3
    from moto import mock_aws

    with mock_aws():
        boto3.client("secretsmanager", region_name="eu-central-1").create_secret(Name="device", SecretString=SECRET)
        assert SecretsManagerCredentials("device").get().username == "USRx"
        with pytest.raises(DomainError) as caught:
            SecretsManagerCredentials("missing").get()
        assert caught.value.status == 503
