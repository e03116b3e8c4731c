"""Concurrency and load on `serve`: loopback only, bounded, latency reported (never asserted).

Note: the local gateway runs each function like one Lambda instance (one request at a time per function), so
HTTP concurrency here interleaves the two token functions and the DynamoDB calls, while the peer's requests run one
after another. The lockout races themselves (wrong passwords at once; right passwords at once, at 99 failures)
therefore run on threads that call the peer use case directly against the embedded DynamoDB, with no lock between.
"""

from __future__ import annotations

import http.client
import io
import json
import statistics
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.config import Config
from nmshd_tokens.config import DEFAULT_BACKBONE_TABLE, DEFAULT_RECORDS_TABLE
from nmshd_tokens.domain.crypto import derive_password_hash
from nmshd_tokens.domain.encoding import b64_encode
from nmshd_tokens.domain.errors import DomainError
from nmshd_tokens.domain.references import parse_reference
from nmshd_tokens.storage.embedded_backbone import LOCK_AFTER_FAILED_ATTEMPTS, DynamoBackbone
from nmshd_tokens.storage.records_table import DynamoRecordsRepository
from nmshd_tokens.usecases.peer_loading import PeerLoading
from nmshd_tokens_local import seed

from tests.reliability.conftest import API_KEY, Served, call

CLIENTS = 8
REQUESTS_PER_CLIENT = 500
WRONG_GUESSES = 150
# Safety nets for a hang only, far above the measured times (4,000 requests take 40-100 s on a loaded 2-core
# machine; a request milliseconds to a second). The load itself is bounded by its request count.
REQUEST_TIMEOUT_S = 120
LOAD_SAFETY_NET_S = 1800

FILE_PATH = f"/api/v2/Files/{seed.FILE_ID}/Token"
TEMPLATE_PATH = f"/api/v2/RelationshipTemplates/Own/{seed.OWN_TEMPLATE_ID}/Token"
# (name, path, accept, body): JSON and PNG, ephemeral and persistent, File and template, a few with a password.
MIX: list[tuple[str, str, str, dict[str, Any]]] = [
    ("file-json-ephemeral", FILE_PATH, "application/json", {}),
    ("file-json-persistent", FILE_PATH, "application/json", {"ephemeral": False}),
    ("file-png", FILE_PATH, "image/png", {}),
    ("template-json-persistent", TEMPLATE_PATH, "application/json", {"ephemeral": False}),
    ("template-png", TEMPLATE_PATH, "image/png", {"newQRCodeFormat": False}),
    ("template-json-ephemeral", TEMPLATE_PATH, "application/json", {"expiresAt": "2099-01-01T00:00:00Z"}),
]
PROTECTED = (
    "file-json-persistent-password",
    FILE_PATH,
    "application/json",
    {"ephemeral": False, "passwordProtection": {"password": "load-pw"}},
)


def dynamodb(served: Served) -> Any:
    return boto3.client(
        "dynamodb",
        endpoint_url=f"http://127.0.0.1:{served.dynamodb_port}",
        region_name="eu-central-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 - dummy credentials for the loopback endpoint
        config=Config(retries={"max_attempts": 3, "mode": "standard"}, max_pool_connections=64),
    )


def scan_ids(client: Any, table: str, **filters: Any) -> set[str]:
    ids: set[str] = set()
    kwargs: dict[str, Any] = {
        "TableName": table,
        "ProjectionExpression": "id, #t",
        "ExpressionAttributeNames": {"#t": "type"},
    }
    while True:
        page = client.scan(**kwargs)
        for item in page["Items"]:
            if all(item.get(name, {}).get("S") == value for name, value in filters.items()):
                ids.add(item["id"]["S"])
        if "LastEvaluatedKey" not in page:
            return ids
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


@dataclass
class Result:
    kind: str
    status: int
    seconds: float
    token_id: str | None = None
    png: bytes | None = None
    problem: str | None = None


@dataclass
class Client:
    served: Served
    index: int
    results: list[Result] = field(default_factory=list)

    def run(self) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.served.port, timeout=REQUEST_TIMEOUT_S)
        try:
            for number in range(REQUESTS_PER_CLIENT):
                kind, path, accept, body = PROTECTED if number % 50 == 7 else MIX[(number + self.index) % len(MIX)]
                headers = {"x-api-key": API_KEY, "Accept": accept, "Content-Type": "application/json"}
                started = time.perf_counter()
                try:
                    connection.request("POST", path, body=json.dumps(body).encode(), headers=headers)
                    response = connection.getresponse()
                    raw = response.read()
                except (OSError, http.client.HTTPException) as exc:
                    connection.close()
                    connection = http.client.HTTPConnection("127.0.0.1", self.served.port, timeout=REQUEST_TIMEOUT_S)
                    self.results.append(Result(kind, 0, time.perf_counter() - started, problem=type(exc).__name__))
                    continue
                elapsed = time.perf_counter() - started
                result = Result(kind, response.status, elapsed)
                if response.status != 201:
                    result.problem = raw[:200].decode("utf-8", "replace")
                elif accept == "image/png":
                    result.png = raw
                else:
                    result.token_id = json.loads(raw)["result"]["id"]
                self.results.append(result)
        finally:
            connection.close()


def decode_qr(png: bytes) -> str:
    """The QR code's text. Only QR codes are looked for: with every format enabled, zxing-cpp now and then also
    "finds" an ITF barcode inside a QR code (about 3 in 1,000 images; tests/support.decode_qr then fails)."""
    import zxingcpp
    from PIL import Image

    (result,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)), formats=zxingcpp.BarcodeFormat.QRCode)
    return str(result.text)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def test_8_clients_x_500_requests(serve: Any, figures: Any) -> None:
    served: Served = serve()
    clients = [Client(served, index) for index in range(CLIENTS)]
    threads = [threading.Thread(target=client.run, name=f"load-{client.index}", daemon=True) for client in clients]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(1.0, LOAD_SAFETY_NET_S - (time.perf_counter() - started)))
    wall = time.perf_counter() - started
    assert not any(thread.is_alive() for thread in threads), f"the load hung: not done after {LOAD_SAFETY_NET_S} s"

    results = [result for client in clients for result in client.results]
    latencies_ms = [result.seconds * 1000 for result in results]
    by_kind = Counter(result.kind for result in results)
    print(
        f"\nload: {len(results)} requests ({CLIENTS} clients × {REQUESTS_PER_CLIENT}) in {wall:.1f} s = "
        f"{len(results) / wall:.0f} req/s; latency p50 {statistics.median(latencies_ms):.1f} ms, "
        f"p90 {percentile(latencies_ms, 0.90):.1f} ms, p99 {percentile(latencies_ms, 0.99):.1f} ms, "
        f"max {max(latencies_ms):.1f} ms"
    )
    figures(
        "load",
        {
            "requests": len(results),
            "seconds": round(wall, 1),
            "requests_per_second": round(len(results) / wall),
            "p50_ms": round(statistics.median(latencies_ms), 1),
            "p99_ms": round(percentile(latencies_ms, 0.99), 1),
        },
    )
    for kind in sorted(by_kind):
        kind_ms = [result.seconds * 1000 for result in results if result.kind == kind]
        p50, p99 = statistics.median(kind_ms), percentile(kind_ms, 0.99)
        print(f"  {kind:32s} {by_kind[kind]:5d}  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms")

    problems = [result for result in results if result.status != 201]
    assert len(results) == CLIENTS * REQUESTS_PER_CLIENT
    assert problems == [], problems[:5]

    png_ids = [parse_reference(decode_qr(result.png)).id for result in results if result.png is not None]
    json_ids = [result.token_id for result in results if result.token_id is not None]
    all_ids = json_ids + png_ids
    assert len(all_ids) == len(results)
    assert len(set(all_ids)) == len(all_ids), "duplicate token ids"

    client = dynamodb(served)
    persistent = {result.token_id for result in results if "persistent" in result.kind}
    published = scan_ids(client, DEFAULT_BACKBONE_TABLE)
    kept = scan_ids(client, DEFAULT_RECORDS_TABLE, type="Token")
    assert persistent <= kept, f"{len(persistent - kept)} persistent tokens missing from the records table"
    assert set(all_ids) <= published, f"{len(set(all_ids) - published)} tokens missing from the backbone table"
    assert kept & set(all_ids) == persistent, "an ephemeral token was kept in the records table"


def _protected_token(served: Served, password: str) -> tuple[str, str, str]:
    body = json.dumps({"passwordProtection": {"password": password}}).encode()
    status, _, raw = call(served, "POST", FILE_PATH, body=body, headers={"Content-Type": "application/json"})
    assert status == 201, raw
    reference = parse_reference(json.loads(raw)["result"]["reference"]["url"])
    assert reference.password_protection is not None
    salt = reference.password_protection.salt
    return (
        reference.id,
        b64_encode(derive_password_hash(password, salt)),
        b64_encode(derive_password_hash("wrong", salt)),
    )


def _failed_attempts(client: Any, token_id: str) -> int:
    item = client.get_item(TableName=DEFAULT_BACKBONE_TABLE, Key={"id": {"S": token_id}}, ConsistentRead=True)["Item"]
    return int(item["failedAttempts"]["N"])


def _fetch(served: Served, token_id: str, password_hash: str) -> tuple[int, str]:
    from urllib.parse import quote

    status, _, raw = call(
        served, "GET", f"/backbone/api/v2/Tokens/{token_id}?password={quote(password_hash, safe='')}", key=None
    )
    return status, json.loads(raw).get("error", {}).get("code", "") if status != 200 else ""


def test_150_concurrent_wrong_passwords_lock_the_token(serve: Any, figures: Any) -> None:
    """Over HTTP (the gateway runs them one at a time): the statuses and codes a peer sees around the lock."""
    served: Served = serve()
    token_id, right, wrong = _protected_token(served, "the-right-password")
    with ThreadPoolExecutor(max_workers=30) as pool:
        answers = list(
            pool.map(lambda _: _fetch(served, token_id, wrong), range(WRONG_GUESSES), timeout=LOAD_SAFETY_NET_S)
        )
    statuses = Counter(answers)
    failures = _failed_attempts(dynamodb(served), token_id)
    figures("lockout-http", {"answers": {f"{s} {c}": n for (s, c), n in statuses.items()}, "failedAttempts": failures})

    assert set(statuses) <= {
        (404, "error.platform.recordNotFound"),
        (400, "error.platform.token.tooManyFailedPasswordAttempts"),
    }
    # Only attempts counted below the limit may look like an ordinary wrong password.
    assert statuses[(404, "error.platform.recordNotFound")] == LOCK_AFTER_FAILED_ATTEMPTS - 1
    assert failures == LOCK_AFTER_FAILED_ATTEMPTS  # exactly: the count stops at the limit
    assert _fetch(served, token_id, right) == (400, "error.platform.token.tooManyFailedPasswordAttempts")


def test_concurrent_right_passwords_at_99_failures_all_succeed(serve: Any, figures: Any) -> None:
    """Over HTTP (the gateway runs them one at a time), right passwords at 99 failures get the token and are not
    counted (SPEC §9); the race itself: test_concurrent_right_passwords_at_99_failures_all_succeed_without_…"""
    served: Served = serve()
    token_id, right, _ = _protected_token(served, "the-right-password")
    client = dynamodb(served)
    client.update_item(
        TableName=DEFAULT_BACKBONE_TABLE,
        Key={"id": {"S": token_id}},
        UpdateExpression="SET failedAttempts = :n",
        ExpressionAttributeValues={":n": {"N": str(LOCK_AFTER_FAILED_ATTEMPTS - 1)}},
    )
    with ThreadPoolExecutor(max_workers=30) as pool:
        answers = Counter(pool.map(lambda _: _fetch(served, token_id, right), range(60), timeout=LOAD_SAFETY_NET_S))
    figures("right-passwords-at-99", {"answers": {f"{s} {c}": n for (s, c), n in answers.items()}})
    assert answers == Counter({(200, ""): 60})
    assert _failed_attempts(client, token_id) == LOCK_AFTER_FAILED_ATTEMPTS - 1


@dataclass
class Direct:
    """A protected token of a fresh `serve`, and the embedded backbone on its DynamoDB, with no gateway between."""

    client: Any
    backbone: DynamoBackbone
    token_id: str
    right: bytes  # the password hashes, as a peer sends them (decoded)
    wrong: bytes


def _direct(served: Served) -> Direct:
    status, _, raw = call(served, "GET", "/")
    assert status == 200
    served_file = json.loads(served.cli("records", "add-file").stdout)["id"]
    body = json.dumps({"passwordProtection": {"password": "p"}}).encode()
    status, _, raw = call(served, "POST", f"/api/v2/Files/{served_file}/Token", body=body)
    assert status == 201, raw
    reference = parse_reference(json.loads(raw)["result"]["reference"]["truncated"])
    assert reference.password_protection is not None
    client = dynamodb(served)
    backbone = DynamoBackbone(DEFAULT_BACKBONE_TABLE, DynamoRecordsRepository(DEFAULT_RECORDS_TABLE, client), client)
    salt = reference.password_protection.salt
    return Direct(client, backbone, reference.id, derive_password_hash("p", salt), derive_password_hash("wrong", salt))


def _race(direct: Direct, password_hash: bytes, threads: int) -> Counter[str]:
    """`threads` peers read the token at the same moment (a barrier): the error code each gets, or "accepted"."""
    barrier = threading.Barrier(threads, timeout=LOAD_SAFETY_NET_S)
    parameter = b64_encode(password_hash)

    def fetch(_: int) -> str:
        barrier.wait()
        try:
            PeerLoading(direct.backbone).load(direct.token_id, parameter)
        except DomainError as error:
            return error.code
        return "accepted"

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return Counter(pool.map(fetch, range(threads), timeout=LOAD_SAFETY_NET_S))


def test_the_failure_counter_is_atomic_without_the_gateway_in_between(serve: Any, figures: Any) -> None:
    """150 threads read-compare-count at once against the embedded DynamoDB (no per-function lock)."""
    direct = _direct(serve("--no-seed"))
    codes = _race(direct, direct.wrong, WRONG_GUESSES)
    failures = _failed_attempts(direct.client, direct.token_id)
    figures("lockout-direct", {"answers": dict(codes), "failedAttempts": failures})
    assert codes["accepted"] == 0
    # Exactly the attempts counted below the limit look like an ordinary wrong password; the rest see the lock.
    assert codes == Counter(
        {
            "error.platform.recordNotFound": LOCK_AFTER_FAILED_ATTEMPTS - 1,
            "error.platform.token.tooManyFailedPasswordAttempts": WRONG_GUESSES - (LOCK_AFTER_FAILED_ATTEMPTS - 1),
        }
    )
    assert failures == LOCK_AFTER_FAILED_ATTEMPTS  # exactly: the count stops at the limit
    # Every guess that was answered "not found" was counted before it was answered.
    assert failures >= codes["error.platform.recordNotFound"]
    with pytest.raises(DomainError) as locked:
        direct.backbone.fetch_for_peer(direct.token_id, direct.right)
    assert locked.value.code == "error.platform.token.tooManyFailedPasswordAttempts"


def test_concurrent_right_passwords_at_99_failures_all_succeed_without_the_gateway_in_between(
    serve: Any, figures: Any
) -> None:
    """60 threads send the right password at once to a token one failure short of the lock: every one gets the
    token, and none is counted, not even for a moment (SPEC §9)."""
    direct = _direct(serve("--no-seed"))
    direct.client.update_item(
        TableName=DEFAULT_BACKBONE_TABLE,
        Key={"id": {"S": direct.token_id}},
        UpdateExpression="SET failedAttempts = :n",
        ExpressionAttributeValues={":n": {"N": str(LOCK_AFTER_FAILED_ATTEMPTS - 1)}},
    )
    codes = _race(direct, direct.right, 60)
    figures("right-passwords-at-99-direct", {"answers": dict(codes)})
    assert codes == Counter({"accepted": 60})
    assert _failed_attempts(direct.client, direct.token_id) == LOCK_AFTER_FAILED_ATTEMPTS - 1
    # One wrong password now locks the token.
    assert _race(direct, direct.wrong, 1) == Counter({"error.platform.token.tooManyFailedPasswordAttempts": 1})
