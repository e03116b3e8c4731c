"""QR PNG benchmark: our qr_png against stock segno 1.6.6 and the Connector's npm `qrcode` 1.5.4, in one run.

Three realistic payloads (a plain reference URL; a personalised, PIN-protected URL with a location indicator; the
legacy nmshd://tr# form), all at EC level M, quiet zone 4, 4 px per module. Every call is timed on its own
(perf_counter_ns in Python, process.hrtime.bigint in Node, each Node call awaited) after a warm-up, and the
contenders take turns in blocks so that load changes on a shared machine hit all of them alike. Figures are
medians (and 90th percentiles) of all timed calls; ratios are medians over our median from the same run.

    .venv/bin/python benchmarks/qr_bench.py [--quick] [--json FILE]

Node runs benchmarks/node/bench.js, installing its pinned packages with `npm ci` when node_modules is missing.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import segno
from nmshd_tokens.domain.references import Reference, SharedPasswordProtection
from nmshd_tokens.qr import qr_png

NODE_DIR = Path(__file__).resolve().parent / "node"
BASE_URL = "https://pilot.enmeshed.eu"
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def payloads(seed: int = 20261123) -> dict[str, str]:
    """P1-P3 of /work/shared/notes/qr-performance.md (same construction and seed)."""
    rng = random.Random(seed)
    token_id = "TOK" + "".join(rng.choice(_ALNUM) for _ in range(17))
    key = rng.randbytes(32)
    plain = Reference(token_id, key, BASE_URL)
    protected = Reference(token_id, key, BASE_URL, "ab12", SharedPasswordProtection("pin6", rng.randbytes(16), 2))
    return {
        "plain URL": plain.url,
        "personalised + PIN + indicator URL": protected.url,
        "legacy nmshd://tr#": plain.legacy_qr_payload,
    }


def stock_segno_png(text: str) -> bytes:
    out = io.BytesIO()
    segno.make(text, error="m", boost_error=False, micro=False).save(out, kind="png", scale=4, border=4)
    return out.getvalue()


class NodeQrcode:
    """A long-lived `node bench.js` worker: one JSON request per line, one JSON answer per line."""

    def __init__(self) -> None:
        node, npm = shutil.which("node"), shutil.which("npm")
        if node is None or npm is None:
            raise RuntimeError("node and npm are needed for the npm qrcode comparison")
        if not (NODE_DIR / "node_modules" / "qrcode").is_dir():
            subprocess.run(
                [npm, "ci", "--prefix", str(NODE_DIR), "--no-audit", "--no-fund", "--loglevel=error"], check=True
            )
        self.version = json.loads((NODE_DIR / "node_modules" / "qrcode" / "package.json").read_text())["version"]
        self._process = subprocess.Popen(
            [node, str(NODE_DIR / "bench.js")], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
        )

    def measure(self, text: str, warmup: int, iterations: int) -> tuple[list[int], int]:
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.write(json.dumps({"payload": text, "warmup": warmup, "iterations": iterations}) + "\n")
        self._process.stdin.flush()
        answer = self._process.stdout.readline()
        if not answer:
            raise RuntimeError("the Node benchmark worker stopped")
        result = json.loads(answer)
        return [int(ns) for ns in result["ns"]], int(result["bytes"])

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        self._process.wait(timeout=30)


def _time_python(function: Callable[[str], bytes], text: str, calls: int) -> list[int]:
    samples = []
    for _ in range(calls):
        start = time.perf_counter_ns()
        function(text)
        samples.append(time.perf_counter_ns() - start)
    return samples


def _summary(samples: list[int]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) / 1000, ordered[int(0.9 * (len(ordered) - 1))] / 1000


def run(iterations: int = 600, segno_iterations: int = 300, blocks: int = 6, node: bool = True) -> list[dict[str, Any]]:
    """Median µs, p90 µs and PNG bytes per payload for ours, stock segno and npm qrcode, plus the ratios."""
    worker = NodeQrcode() if node else None
    results = []
    try:
        for name, text in payloads().items():
            ours_png, segno_png = qr_png(text), stock_segno_png(text)
            _time_python(qr_png, text, 50)  # warm-up
            _time_python(stock_segno_png, text, 20)
            samples: dict[str, list[int]] = {"ours": [], "segno": [], "node": []}
            node_bytes = None
            for block in range(blocks):
                samples["ours"] += _time_python(qr_png, text, -(-iterations // blocks))
                samples["segno"] += _time_python(stock_segno_png, text, -(-segno_iterations // blocks))
                if worker is not None:
                    ns, node_bytes = worker.measure(text, 200 if block == 0 else 20, -(-iterations // blocks))
                    samples["node"] += ns
            row: dict[str, Any] = {
                "payload": name,
                "chars": len(text),
                "version": segno.make(text, error="m", boost_error=False, micro=False).version,
                "ours_bytes": len(ours_png),
                "segno_bytes": len(segno_png),
                "node_bytes": node_bytes,
            }
            for contender, values in samples.items():
                median, p90 = _summary(values) if values else (None, None)
                row[f"{contender}_median_us"] = median
                row[f"{contender}_p90_us"] = p90
                row[f"{contender}_calls"] = len(values)
            row["segno_over_ours"] = row["segno_median_us"] / row["ours_median_us"]
            row["node_over_ours"] = row["node_median_us"] / row["ours_median_us"] if worker is not None else None
            row["node_qrcode_version"] = worker.version if worker is not None else None
            row["segno_version"] = segno.__version__
            results.append(row)
    finally:
        if worker is not None:
            worker.close()
    return results


def _table(results: list[dict[str, Any]]) -> str:
    def us(value: float | None) -> str:
        return "-" if value is None else f"{value:,.0f}"

    def ratio(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f}×"

    header = (
        f"{'payload':<36} {'chars':>5} {'ver':>3} | {'ours µs':>8} {'p90':>6} {'B':>4} | "
        f"{'segno µs':>8} {'p90':>6} {'B':>4} | {'node µs':>8} {'p90':>6} {'B':>5} | "
        f"{'segno/ours':>10} {'node/ours':>9}"
    )
    lines = [header, "-" * len(header)]
    for r in results:
        lines.append(
            f"{r['payload']:<36} {r['chars']:>5} {r['version']:>3} | "
            f"{us(r['ours_median_us']):>8} {us(r['ours_p90_us']):>6} {r['ours_bytes']:>4} | "
            f"{us(r['segno_median_us']):>8} {us(r['segno_p90_us']):>6} {r['segno_bytes']:>4} | "
            f"{us(r['node_median_us']):>8} {us(r['node_p90_us']):>6} {r['node_bytes'] or '-':>5} | "
            f"{ratio(r['segno_over_ours']):>10} {ratio(r['node_over_ours']):>9}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer calls (a smoke run, not for figures)")
    parser.add_argument("--no-node", action="store_true", help="skip the npm qrcode comparison")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args()
    counts = {"iterations": 60, "segno_iterations": 30, "blocks": 2} if args.quick else {}
    results = run(node=not args.no_node, **counts)
    print(f"Python {sys.version.split()[0]}, segno {segno.__version__}, medians of every timed call, µs")
    print(_table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
