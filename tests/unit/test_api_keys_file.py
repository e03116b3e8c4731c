"""`nmshd-tokens api-keys stored FILE`: the stored form of a key file (every key replaced by its
SHA-256), which `serve --api-keys` and the AWS secret accept in place of the keys themselves."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from nmshd_tokens.domain.clock import utc_now
from nmshd_tokens_local.api_keys_file import load_api_keys
from nmshd_tokens_local.cli import main

KEY = "ops-KEY-0123456789-abcdefghijklmnop!"


def test_the_stored_form_replaces_each_key_by_its_hash(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "keys.json"
    source.write_text(json.dumps({"keys": {"ops": {"key": KEY, "scopes": ["core:*"]}}}), encoding="utf-8")
    assert main(["api-keys", "stored", str(source)]) == 0
    printed = capsys.readouterr().out
    assert KEY not in printed
    stored = json.loads(printed)
    assert stored["keys"]["ops"] == {"scopes": ["core:*"], "keySha256": hashlib.sha256(KEY.encode()).hexdigest()}
    hashed = tmp_path / "stored.json"
    hashed.write_text(printed, encoding="utf-8")
    assert load_api_keys(hashed).authenticate(KEY, utc_now()) is not None


def test_a_refused_file_has_no_stored_form(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "keys.json"
    source.write_text(json.dumps({"keys": {"ops": {"key": "weak"}}}), encoding="utf-8")
    assert main(["api-keys", "stored", str(source)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "does not meet the requirements: ops" in captured.err
