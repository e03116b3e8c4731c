"""`make bench`: every benchmark in one run; prints the tables, writes benchmarks/results.json and rewrites the
tables of docs/performance.md from it (benchmarks/report.py).

1. QR code PNGs: ours against stock segno and the Connector's npm `qrcode` (qr_bench.py).
2. Cold start: each built function's init, and init + first request, as Lambda's runtime runs them, against
   the floor `import boto3; boto3.client("dynamodb")` and a boto3-only function making the same DynamoDB calls
   (cold_start.py; it needs `make package`, which `make bench` runs first).
3. Warm requests: each handler in-process with DynamoDB served by moto; moto's share timed per call through
   botocore event hooks (warm_requests.py).
4. Argon2id as the token password hash uses it (opslimit 3, 20 MiB; domain/crypto.py).
5. GET /Tokens/Own over 1,000 kept tokens and one filtered query, against one GetItem (kept_tokens.py).
6. A token request whose File comes from the table, the warm instance's memory, or a loopback Connector
   (connector_records.py), each against the table.

Every figure is a median of repeated runs; every ratio compares figures from this one run. On a shared machine
sub-millisecond medians move by up to ±30 % between runs, cold starts by about ±10 %.

    .venv/bin/python benchmarks/run.py [--quick] [--no-node] [--json FILE]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import cold_start  # noqa: E402 - benchmarks/ is not a package
import connector_records  # noqa: E402
import kept_tokens  # noqa: E402
import qr_bench  # noqa: E402
import report  # noqa: E402
import warm_requests  # noqa: E402

WARM_TARGET_US = 2000
PACKAGES = ("boto3", "botocore", "aws-lambda-powertools", "pydantic", "segno", "pynacl", "moto")


def say(line: str) -> None:
    print(line, flush=True)


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), "")
    except OSError:
        pass
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "packages": {name: importlib.metadata.version(name) for name in PACKAGES},
    }


def argon2id(calls: int = 20) -> dict[str, Any]:
    """The password hash of every password-protected token (and of every peer that reads one)."""
    from nmshd_tokens.domain.crypto import ARGON2_MEMLIMIT, ARGON2_OPSLIMIT, derive_password_hash, generate_salt

    salt = generate_salt()
    started = time.perf_counter_ns()
    derive_password_hash("correct horse battery staple", salt)
    first = time.perf_counter_ns() - started
    samples = []
    for _ in range(calls):
        started = time.perf_counter_ns()
        derive_password_hash("correct horse battery staple", salt)
        samples.append(time.perf_counter_ns() - started)
    samples.sort()
    return {
        "opslimit": ARGON2_OPSLIMIT,
        "memlimit_mib": ARGON2_MEMLIMIT / 2**20,
        "calls": calls,
        "first_call_ms": first / 1e6,
        "median_ms": statistics.median(samples) / 1e6,
        "p90_ms": samples[int(0.9 * (len(samples) - 1))] / 1e6,
    }


def targets(cold: dict[str, Any], warm: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = cold_start.targets(cold)
    for row in warm:
        if row["scenario"] == "JSON ephemeral":
            found.append(
                {
                    "target": f"{row['handler']} warm JSON ephemeral, excl. DynamoDB < {WARM_TARGET_US / 1000:g} ms",
                    "measured": f"{row['excluding_dynamodb_median_us'] / 1000:.2f} ms",
                    "met": row["excluding_dynamodb_median_us"] < WARM_TARGET_US,
                }
            )
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="far fewer runs (a smoke test, not for figures)")
    parser.add_argument("--no-node", action="store_true", help="skip the npm qrcode comparison")
    parser.add_argument("--json", type=Path, default=HERE / "results.json", help="where to write the results")
    args = parser.parse_args()
    started = time.perf_counter()
    results: dict[str, Any] = {"machine": machine()}

    say("==> 1/6 QR code PNGs: ours, stock segno, npm qrcode (about 40 s)")
    qr_counts = {"iterations": 60, "segno_iterations": 30, "blocks": 2} if args.quick else {}
    results["qr"] = qr_bench.run(node=not args.no_node, **qr_counts)

    say("==> 2/6 cold start: the built functions as Lambda runs them, every variant once per round (about 4 min)")
    results["cold_start"] = cold_start.run(runs=2 if args.quick else 10, quick=args.quick, progress=say)

    say("==> 3/6 warm requests, DynamoDB served by moto (about 40 s)")
    warm_counts = {"iterations": 30, "password_iterations": 4, "blocks": 2} if args.quick else {}
    results["warm_requests"] = warm_requests.run(**warm_counts)

    say("==> 4/6 Argon2id password hash")
    results["argon2id"] = argon2id(calls=4 if args.quick else 20)

    say(f"==> 5/6 GET /Tokens/Own over {100 if args.quick else kept_tokens.TOKENS} kept tokens (about 60 s)")
    results["kept_tokens"] = kept_tokens.run(repeat=3, count=100) if args.quick else kept_tokens.run()

    say("==> 6/6 a token request by where its File comes from: table, warm memory, loopback Connector")
    results["connector_records"] = connector_records.run(requests=30 if args.quick else connector_records.REQUESTS)
    results["targets"] = targets(results["cold_start"], results["warm_requests"])
    results["seconds"] = time.perf_counter() - started
    args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    say("")
    say(report.tables(results))
    say("")
    say(f"Wrote {args.json} in {results['seconds']:.0f} s")
    if args.json.resolve() == report.RESULTS:  # the committed results: docs/performance.md shows their tables
        changed = report.refresh(args.json, report.DOC)
        say(f"{'Rewrote' if changed else 'Kept'} the tables of {report.DOC.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main()
