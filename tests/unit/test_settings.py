"""Settings are checked however they are made: from the environment or built directly (tests, the local server)."""

from __future__ import annotations

from typing import Any

import pytest
from nmshd_tokens.config import DEFAULT_RETENTION_DAYS, BackboneCredentials, ConfigError, Settings

CREDENTIALS = BackboneCredentials("client", "client-secret-value", "USRabcdefghij0123456", "device-password-value")
REMOTE: dict[str, Any] = {"backbone_mode": "remote", "backbone_base_url": "https://pilot.enmeshed.eu"}


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"service_address": "id1notanaddress"}, "SERVICE_ADDRESS"),
        ({"device_id": "DVC1"}, "SERVICE_DEVICE_ID"),
        ({"backbone_base_url": "ftp://x"}, "BACKBONE_BASE_URL"),
        ({"backbone_mode": "cloud"}, "BACKBONE_MODE"),
        ({"backbone_mode": "remote", "backbone_credentials": CREDENTIALS}, "BACKBONE_BASE_URL"),
        (REMOTE | {"backbone_base_url": "http://pilot.enmeshed.eu"}, "BACKBONE_BASE_URL must be an https URL"),
        (REMOTE, "BACKBONE_CREDENTIALS_SECRET"),
        ({"token_retention_days": -1}, "TOKEN_RETENTION_DAYS"),
        ({"token_retention_days": 3651}, "TOKEN_RETENTION_DAYS"),
    ],
)
def test_settings_built_directly_are_checked_as_from_env(fields: dict[str, Any], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        Settings(**fields)


def test_the_defaults_are_valid_and_the_same_as_an_empty_environment() -> None:
    assert Settings() == Settings.from_env({})
    assert Settings().token_retention_days == DEFAULT_RETENTION_DAYS


def test_remote_settings_name_where_the_credentials_come_from() -> None:
    assert Settings(**REMOTE, backbone_credentials=CREDENTIALS).remote_credentials() == CREDENTIALS
    assert Settings(**REMOTE, backbone_credentials_secret="nmshd/device").remote_credentials() == "nmshd/device"
    assert (
        Settings(**REMOTE, backbone_credentials=CREDENTIALS).remote_backbone_base_url() == REMOTE["backbone_base_url"]
    )


# --- the Connector (SPEC §15) ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"CONNECTOR_BASE_URL": "http://connector.example", "CONNECTOR_API_KEY": "k"}, "must be an https URL"),
        ({"CONNECTOR_BASE_URL": "ftp://connector.example", "CONNECTOR_API_KEY": "k"}, "CONNECTOR_BASE_URL"),
        ({"CONNECTOR_BASE_URL": "https://u:p@connector.example", "CONNECTOR_API_KEY": "k"}, "must not hold"),
        ({"CONNECTOR_BASE_URL": "https://connector.example"}, "CONNECTOR_API_KEY or CONNECTOR_API_KEY_SECRET_ARN"),
        (
            {"CONNECTOR_BASE_URL": "https://connector.example", "CONNECTOR_API_KEY": "k", "CONNECTOR_API": "v1"},
            "CONNECTOR_API must be",
        ),
        ({"RECORDS_CACHE_SECONDS": "five"}, "RECORDS_CACHE_SECONDS"),
        ({"RECORDS_CACHE_SECONDS": "-1"}, "RECORDS_CACHE_SECONDS"),
        ({"RECORDS_CACHE_SECONDS": "86401"}, "RECORDS_CACHE_SECONDS"),
    ],
)
def test_wrong_connector_settings_name_their_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        Settings.from_env(env)


def test_connector_settings_are_read() -> None:
    settings = Settings.from_env(
        {
            "CONNECTOR_BASE_URL": "https://connector.example/",
            "CONNECTOR_API_KEY_SECRET_ARN": "arn:aws:secretsmanager:eu-central-1:1:secret:k",
            "CONNECTOR_API": "/core/v1",
            "RECORDS_CACHE_SECONDS": "60",
        }
    )
    assert settings.connector_base_url == "https://connector.example"
    assert settings.connector_api == "core/v1" and settings.records_cache_seconds == 60
    assert Settings.from_env({}).records_cache_seconds == 300 and Settings.from_env({}).connector_base_url is None


def test_http_is_allowed_on_loopback_only_and_the_key_is_not_shown() -> None:
    settings = Settings.from_env({"CONNECTOR_BASE_URL": "http://127.0.0.1:8080", "CONNECTOR_API_KEY": "sekrit-key"})
    assert "sekrit-key" not in repr(settings)
