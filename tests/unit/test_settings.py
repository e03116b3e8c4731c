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
