"""Cold start: a fresh interpreter that imports a handler and builds what it builds at init, against the floor.

Each variant is `.venv/bin/python -c <code>` in a fresh process. The handler variants load functions/<name>/app.py
by path (as tests/support.load_handler and Lambda do) and then make sure the DynamoDB client exists (the handlers
build it at init; were it lazy, its creation would be counted here all the same). The floor is
`import boto3; boto3.client("dynamodb", region_name=...)`. Every child ends with os._exit(0) right after that:
interpreter teardown (100-190 ms with these heaps) is not part of a Lambda init and would only add noise.

Figures are medians over `runs` rounds after one warm-up round; in every round the variants take turns (in a new
order each round), so load changes on a shared machine hit all of them alike, and every ratio compares medians from
the same run. Wall time
is from spawning the child to reaping it (the headline figure); CPU is the child's user + system time (os.wait4),
which shows less of the machine's load; peak RSS is the child's VmHWM (/proc/self/status) at the end of init.

Bytecode: this environment sets PYTHONDONTWRITEBYTECODE, so the project's own modules would be recompiled by every
child; like the Lambda layer (Makefile: build-SharedLayer), they are compiled first. One informational variant runs
the package from a copy without .pyc to show what that costs.

    .venv/bin/python benchmarks/cold_start.py [--runs N]
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PYTHON = ROOT / ".venv" / "bin" / "python"
HANDLERS = ("file_token", "template_token", "backbone_token")
REGION = "eu-central-1"
TARGET_RATIO = 1.25

FLOOR = f"import boto3\nboto3.client('dynamodb', region_name={REGION!r})\n"
_LOAD_HANDLER = """
import importlib.util, os, sys
spec = importlib.util.spec_from_file_location("handler_{name}", {path!r})
module = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = module
spec.loader.exec_module(module)
assert type(module.container.records.client).__name__ == "DynamoDB"  # built at init
"""
# The handlers' GC treatment (entry_points/api.py at_init), patched out: what init cost before it.
_WITHOUT_GC_TREATMENT = """
import nmshd_tokens.entry_points.api as api
assert hasattr(api, "at_init"), "benchmarks/cold_start.py patches a helper that no longer exists"
api.at_init = lambda build: build()  # the container is then built with the GC running
"""
# The floor first, with the GC treatment in its most favourable order (client first, then the imports); the
# variants below add libraries on top of it.
_FLOOR_FIRST = f"""
import gc
gc.disable()
import boto3
boto3.client('dynamodb', region_name={REGION!r})
gc.freeze()
gc.enable()
"""
# Libraries on top of the floor, each block ending where the variants below freeze the heap again.
_POWERTOOLS = """
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
Logger(service="x")
APIGatewayRestResolver()
"""
_OUR_MODELS_AND_PYNACL = """
import nmshd_tokens.domain.validation
import nmshd_tokens.domain.crypto
"""
_PYDANTIC_ONE_FIELD = """
from pydantic import BaseModel
class OneField(BaseModel):
    value: str
OneField(value="x")
"""
_FREEZE = "gc.freeze()\n"
_EXIT = "\nimport os as _os, sys as _sys\n_sys.stdout.flush()\n_os._exit(0)\n"
# The moment init ended, and the child's own peak RSS. VmHWM, not ru_maxrss: Linux carries the RSS of the forked
# copy of the parent into the child's ru_maxrss across exec, which would report the benchmark's own size.
_REPORT = """
import time as _time
_ready = _time.perf_counter()
with open("/proc/self/status") as _status:
    _hwm = next(int(_line.split()[1]) for _line in _status if _line.startswith("VmHWM:"))
print(_ready, _hwm)
"""


@dataclass(frozen=True)
class Variant:
    key: str
    label: str
    code: str
    informational: bool = False
    env: dict[str, str] = field(default_factory=dict)


def child_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Dummy credentials and a region, as on Lambda (where they are in the environment): no credential lookups."""
    env = dict(os.environ)
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL", "PYTHONPATH", "BACKBONE_MODE"):
        env.pop(key, None)
    env.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    env.update(extra or {})
    return env


def handler_code(name: str) -> str:
    return _LOAD_HANDLER.format(name=name, path=str(ROOT / "functions" / name / "app.py"))


def compile_bytecode() -> None:
    """The project's .pyc, as the Lambda layer ships them (written to the git-ignored __pycache__ folders)."""
    for folder in (ROOT / "shared" / "nmshd_tokens", ROOT / "functions"):
        compileall.compile_dir(folder, quiet=1, workers=0)


def variants(no_pyc_copy: Path | None) -> list[Variant]:
    found = [
        Variant("interpreter", "fresh interpreter (`pass`)", "pass\n", informational=True),
        Variant("floor", "floor: import boto3; boto3.client('dynamodb')", FLOOR),
        Variant(
            "floor_gc",
            "floor with the handlers' GC treatment",
            "import gc\ngc.disable()\n" + FLOOR + "gc.freeze()\ngc.enable()\n",
            informational=True,
        ),
    ]
    found += [Variant(name, f"{name} init (DynamoDB client included)", handler_code(name)) for name in HANDLERS]
    found.append(
        Variant(
            "file_token_without_gc_treatment",
            "file_token init, GC treatment patched out (before)",
            _WITHOUT_GC_TREATMENT + handler_code("file_token"),
            informational=True,
        )
    )
    found.append(
        Variant(
            "required_only",
            # A lower bound for any handler built on these libraries as they are imported today: none of our other
            # code, no segno.
            "floor + required libraries only (Powertools, pydantic models, PyNaCl)",
            _FLOOR_FIRST + _POWERTOOLS + _OUR_MODELS_AND_PYNACL + _FREEZE,
            informational=True,
        )
    )
    found.append(
        Variant(
            "pydantic_only",
            # Each required library alone: if one of them takes the floor past the target, no handler that must use
            # it can meet the target.
            "floor + pydantic with one one-field model, nothing else",
            _FLOOR_FIRST + _PYDANTIC_ONE_FIELD + _FREEZE,
            informational=True,
        )
    )
    found.append(
        Variant(
            "powertools_only",
            "floor + Powertools Logger and REST resolver, nothing else",
            _FLOOR_FIRST + _POWERTOOLS + _FREEZE,
            informational=True,
        )
    )
    if no_pyc_copy is not None:
        found.append(
            Variant(
                "file_token_no_pyc",
                "file_token init, nmshd_tokens without .pyc",
                handler_code("file_token"),
                informational=True,
                env={"PYTHONPATH": str(no_pyc_copy)},
            )
        )
    return found


@dataclass(frozen=True)
class Sample:
    wall: float  # s, spawn to reaped
    ready: float  # s, spawn to the end of init
    cpu: float  # s, the child's user + system time
    peak_kib: int


def _spawn(variant: Variant) -> Sample:
    code = variant.code + _REPORT + _EXIT
    env = child_environment(variant.env)
    started = time.perf_counter()
    process = subprocess.Popen([str(PYTHON), "-c", code], env=env, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0 or not output.strip():
        raise RuntimeError(f"{variant.key}: the child failed ({process.returncode})")
    ready, peak_kib = output.split()[-2:]
    return Sample(wall, float(ready) - started, usage.ru_utime + usage.ru_stime, int(peak_kib))


_BREAKDOWN = """
import time
_marks = [("interpreter start", time.perf_counter())]
def _mark(name):
    _marks.append((name, time.perf_counter()))
import aws_lambda_powertools
_mark("aws_lambda_powertools (Logger, Metrics, Tracer shim)")
import aws_lambda_powertools.event_handler
_mark("Powertools event_handler package (every resolver, data classes)")
import nmshd_tokens.domain.validation
_mark("request validation (validation.py)")
import nmshd_tokens.domain.crypto
_mark("PyNaCl (crypto.py)")
import nmshd_tokens.http.api, nmshd_tokens.http.responses, nmshd_tokens.container
_mark("the rest of nmshd_tokens")
_client = []
import nmshd_tokens.entry_points.api as _entry
_real = _entry.at_init
def _timed(build):
    started = time.perf_counter()
    built = _real(build)
    _client.append(time.perf_counter() - started)
    return built
_entry.at_init = _timed
"""
_BREAKDOWN_TAIL = """
_mark("handler module (create_resolver, routes)")
import json
print(json.dumps({"marks": _marks, "client": _client[0] if _client else None}))
"""


def breakdown(name: str = "file_token", runs: int = 9) -> list[dict[str, Any]]:
    """Where one handler's init goes, step by step in its own import order (medians of fresh interpreters).

    Stdlib modules shared with botocore (http.client, email, ssl, urllib) count where they are first imported.
    """
    code = _BREAKDOWN + handler_code(name) + _BREAKDOWN_TAIL + _EXIT
    rounds: list[dict[str, float]] = []
    for index in range(runs + 1):
        started = time.perf_counter()
        result = subprocess.run(
            [str(PYTHON), "-c", code], env=child_environment(), capture_output=True, text=True, check=True
        )
        data = json.loads(result.stdout.splitlines()[-1])
        steps: dict[str, float] = {}
        previous = started
        for step, moment in data["marks"]:
            steps[step] = moment - previous
            previous = moment
        client = data["client"] or 0.0
        handler_step = "handler module (create_resolver, routes)"
        steps[handler_step] -= client
        steps["botocore + DynamoDB client, GC paused (entry_points.api.at_init)"] = client
        if index:
            rounds.append(steps)
    return [{"step": step, "median_ms": statistics.median(r[step] for r in rounds) * 1000} for step in rounds[0]]


def run(runs: int = 20, progress: Callable[[str], None] = print) -> dict[str, Any]:
    compile_bytecode()
    with tempfile.TemporaryDirectory(prefix="nmshd-no-pyc-") as scratch:
        copy = Path(scratch) / "nmshd_tokens"
        shutil.copytree(ROOT / "shared" / "nmshd_tokens", copy, ignore=shutil.ignore_patterns("__pycache__"))
        chosen = variants(Path(scratch))
        samples: dict[str, list[Sample]] = {variant.key: [] for variant in chosen}
        order = random.Random(20261123)
        for round_index in range(runs + 1):
            for variant in order.sample(chosen, len(chosen)):  # a fresh order each round: no position bias
                sample = _spawn(variant)
                if round_index:  # round 0 warms the page cache
                    samples[variant.key].append(sample)
            if round_index and (round_index % 4 == 0 or round_index == runs):
                progress(f"   cold start: {round_index}/{runs} rounds")
    floor = statistics.median(sample.wall for sample in samples["floor"])
    floor_gc = statistics.median(sample.wall for sample in samples["floor_gc"])
    floor_cpu = statistics.median(sample.cpu for sample in samples["floor"])
    rows = []
    for variant in chosen:
        walls = sorted(sample.wall for sample in samples[variant.key])
        median = statistics.median(walls)
        cpu = statistics.median(sample.cpu for sample in samples[variant.key])
        rows.append(
            {
                "key": variant.key,
                "variant": variant.label,
                "informational": variant.informational,
                "runs": len(walls),
                "wall_median_ms": median * 1000,
                "wall_p10_ms": walls[int(0.1 * (len(walls) - 1))] * 1000,
                "wall_p90_ms": walls[int(0.9 * (len(walls) - 1))] * 1000,
                "ready_median_ms": statistics.median(sample.ready for sample in samples[variant.key]) * 1000,
                "cpu_median_ms": cpu * 1000,
                "peak_rss_median_mib": statistics.median(sample.peak_kib for sample in samples[variant.key]) / 1024,
                "over_floor": median / floor,
                "cpu_over_floor": cpu / floor_cpu,
                "over_floor_with_gc_treatment": median / floor_gc,
            }
        )
    progress("   cold start: breakdown of file_token's init")
    return {"python": sys.version.split()[0], "target_ratio": TARGET_RATIO, "rows": rows, "breakdown": breakdown()}


def table(result: dict[str, Any]) -> str:
    header = (
        f"{'':<72} {'wall ms':>7} {'p10–p90':>9} {'× floor':>7} | {'CPU ms':>6} {'× floor':>7} | {'peak RSS MiB':>12}"
    )
    lines = [header, "-" * len(header)]
    for r in result["rows"]:
        label = ("  " if r["informational"] else "") + r["variant"]
        spread = f"{r['wall_p10_ms']:.0f}–{r['wall_p90_ms']:.0f}"
        lines.append(
            f"{label:<72} {r['wall_median_ms']:>7.0f} {spread:>9} {r['over_floor']:>6.2f}× | "
            f"{r['cpu_median_ms']:>6.0f} {r['cpu_over_floor']:>6.2f}× | {r['peak_rss_median_mib']:>12.1f}"
        )
    return "\n".join(lines)


def breakdown_table(steps: list[dict[str, Any]]) -> str:
    lines = [f"{'file_token init, step by step (fresh interpreters, medians)':<72} {'ms':>9}"]
    lines.append("-" * len(lines[0]))
    lines += [f"{s['step']:<72} {s['median_ms']:>9.1f}" for s in steps]
    lines.append(f"{'sum':<72} {sum(s['median_ms'] for s in steps):>9.1f}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    result = run(args.runs)
    print(table(result))
    print()
    print(breakdown_table(result["breakdown"]))


if __name__ == "__main__":
    main()
