"""`nmshd-tokens api-keys register`: every usable key's usage identifier becomes an API key of the usage plan, once."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from nmshd_tokens_local.cli import main

KEYS = {
    "website": "website-KEY-0123456789-abcdefghij!",
    "ops": "ops-KEY-0123456789-abcdefghijklmnop!",
}


@pytest.fixture
def apigateway(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield boto3.client("apigateway")


def key_file(tmp_path: Path, keys: dict[str, dict[str, Any]]) -> str:
    path = tmp_path / "keys.json"
    path.write_text(json.dumps({"keys": keys}), encoding="utf-8")
    return str(path)


def plan_values(apigateway: Any, plan_id: str) -> set[str]:
    on_plan = {key["id"] for key in apigateway.get_usage_plan_keys(usagePlanId=plan_id)["items"]}
    return {key["value"] for key in apigateway.get_api_keys(includeValues=True)["items"] if key["id"] in on_plan}


def test_each_usable_key_is_on_the_plan_by_its_sha256_and_again_changes_nothing(
    apigateway: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = apigateway.create_usage_plan(name="nmshd-tokens")["id"]
    keys = {
        "website": {"key": KEYS["website"], "scopes": ["core:relationshipTemplates"]},
        "ops": {"key": KEYS["ops"]},
        "old": {"key": "old-KEY-0123456789-abcdefghijklm!", "enabled": False},
    }
    path = key_file(tmp_path, keys)
    assert main(["api-keys", "register", path, "--usage-plan-id", plan]) == 0
    assert plan_values(apigateway, plan) == {hashlib.sha256(key.encode()).hexdigest() for key in KEYS.values()}
    printed = capsys.readouterr().out
    assert "2 key(s) added to the usage plan, 0 already on it" in printed
    assert not any(key in printed for key in KEYS.values())  # never a key itself

    assert main(["api-keys", "register", path, "--usage-plan-id", plan]) == 0
    assert "0 key(s) added to the usage plan, 2 already on it" in capsys.readouterr().out
    assert len(apigateway.get_api_keys()["items"]) == 2


def test_an_unknown_usage_plan_is_a_one_line_failure(
    apigateway: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = key_file(tmp_path, {"ops": {"key": KEYS["ops"]}})
    assert main(["api-keys", "register", path, "--usage-plan-id", "nope000000"]) == 1
    assert "usage plan nope000000 not found" in capsys.readouterr().err
