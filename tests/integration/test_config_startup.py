"""A wrong setting fails the cold start with a message naming the variable (SPEC §11)."""

from __future__ import annotations

import importlib.util

import pytest
from nmshd_tokens.config import ConfigError

from tests.support import ROOT


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SERVICE_ADDRESS", "id1notanaddress"),
        ("SERVICE_DEVICE_ID", "DVC1"),
        ("QR_FORMAT", "svg"),
        ("BACKBONE_BASE_URL", "ftp://x"),
    ],
)
def test_handler_init_fails_naming_the_setting(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> None:
    """The real configuration path: a fresh import of the handler module reads the process environment."""
    monkeypatch.setenv(variable, value)
    spec = importlib.util.spec_from_file_location("fresh_file_token", ROOT / "functions" / "file_token" / "app.py")
    assert spec and spec.loader
    with pytest.raises(ConfigError, match=variable):
        spec.loader.exec_module(importlib.util.module_from_spec(spec))
