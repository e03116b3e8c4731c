"""`make bench` keeps working: its script runs in quick mode and writes every section it promises.

Only shapes and hard limits are checked (sizes, call counts, decodable QR codes elsewhere); timings are the
benchmark's business, never asserted here.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.package.conftest import package  # noqa: F401 - the fixture: the cold start runs the built functions

ROOT = Path(__file__).resolve().parents[2]
HANDLERS = {"file_token", "template_token", "backbone_token"}
API_FUNCTIONS = {"FileToken", "TemplateToken", "OwnToken", "TokenRead", "TokenRevoke", "ServiceStatus"}
# Measured at init only: its first request derives an Argon2id hash, which no boto3-only floor job can stand for.
INIT_ONLY_API_FUNCTIONS = {"PeerToken"}
SAFETY_NET_S = 1800  # for a hang only: the quick run takes 1-3 minutes, bounded by its own repeat counts


@pytest.mark.usefixtures("package")
def test_quick_benchmark_writes_every_section(tmp_path: Path) -> None:
    output = tmp_path / "results.json"
    command = [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--json", str(output)]
    with_node = shutil.which("node") is not None and shutil.which("npm") is not None
    if not with_node:
        command.append("--no-node")
    finished = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=SAFETY_NET_S, check=False)
    assert finished.returncode == 0, finished.stderr[-2000:]
    headings = (
        "QR code PNG",
        "Cold start",
        "Warm requests",
        "Argon2id",
        "GET /Tokens/Own",
        "Token request by",
        "Targets",
    )
    for heading in headings:
        assert heading in finished.stdout

    results = json.loads(output.read_text(encoding="utf-8"))
    payloads = {row["payload"]: row for row in results["qr"]}
    assert set(payloads) == {"plain URL", "personalised + PIN + indicator URL", "legacy nmshd://tr#"}
    for row in payloads.values():
        assert 0 < row["ours_bytes"] <= 800  # a 1-bit PNG, no larger than 800 bytes
        assert row["ours_median_us"] > 0 and row["segno_median_us"] > 0
        assert (row["node_median_us"] > 0) if with_node else (row.get("node_median_us") is None)

    cold = {row["key"]: row for row in results["cold_start"]["rows"]}
    assert results["cold_start"]["python"].startswith("3.13.")  # the Lambda runtime's version
    inits = {
        f"init {name}Function" for name in API_FUNCTIONS | INIT_ONLY_API_FUNCTIONS | {"BackboneToken", "TokenBatch"}
    }
    assert {"floor init"} | inits <= set(cold)
    assert {cold[key]["target"] for key in inits} == {1.30, 1.05, None}
    assert cold["floor init"]["over_floor"] == 1.0
    first = [row for row in cold.values() if row["key"].startswith("first ")]
    assert {row["label"].split(",")[0] for row in first if row["target"]} == {f"{n}Function" for n in API_FUNCTIONS}
    api_first = [row for row in first if not row["label"].startswith("ApiAuthorizerFunction")]
    assert all(cold[row["floor"]]["key"].startswith("floor job ") for row in api_first)  # each has its floor job
    # The API keys' authorizer has no DynamoDB calls: its init and first request are shown against the floor's init.
    assert cold["init ApiAuthorizerFunction"]["floor"] == cold["first api_authorizer"]["floor"] == "floor init"
    assert all(row["wall_median_ms"] > 0 and row["cpu_median_ms"] > 0 for row in cold.values())
    if shutil.which("valgrind"):
        assert cold["init FileTokenFunction"]["instructions_over_floor"] > 0.5

    warm = results["warm_requests"]
    assert {row["handler"] for row in warm} == HANDLERS
    assert all(row["dynamodb_calls"] >= 1 for row in warm)
    assert results["argon2id"]["opslimit"] == 3 and results["argon2id"]["memlimit_mib"] == 20
    kept = results["kept_tokens"]
    assert kept["kept_tokens"] == 100 and [row["tokens"] for row in kept["rows"]] == [100, 33]
    assert all(row["dynamodb_calls"] == 1 for row in kept["rows"])  # one index query: no scan, no read per token
    assert kept["get_item_ms"] > 0
    sources = results["connector_records"]["rows"]
    assert [row["source"][:3] for row in sources] == ["(a)", "(b)", "(c)"] and sources[0]["over_table"] == 1.0
    # The memory answers without a table read; a read-through costs one Connector call, never more.
    assert [row["connector_calls"] for row in sources] == [0, 0, 1]
    assert sources[1]["dynamodb_calls"] < sources[0]["dynamodb_calls"] < sources[2]["dynamodb_calls"]
    assert (
        len(results["targets"]) == len(API_FUNCTIONS | INIT_ONLY_API_FUNCTIONS) + 1 + 7 + 2
    )  # inits, first requests, warm JSON
