"""Cold start as Lambda runs it: each built function's init, and its init plus first request, against the floor.

Every variant is a fresh process of the emulated Lambda runtime (deployment/lambda_emulator.py, what `make
invoke` runs): Python 3.13 in isolated mode, with only the function folder and the layer on sys.path (bytecode
compiled as the layer ships it), the function's environment from the built template, DynamoDB served by a moto
server on loopback seeded with the demo records the sample events name. Every child ends without interpreter
teardown (os._exit), which is not part of a Lambda invocation.

- init: the runtime loads the handler module (what Lambda reports as Init Duration, plus the process start).
- init + first request: the same, then the handler answers one sample event from events/.

The floor is benchmarks/floor_function/: `import boto3; boto3.client("dynamodb")` at init and, for each sample
event, the same DynamoDB calls made with boto3 alone (the "floor job"). It runs on a copy of our layer in which
botocore's endpoints.json is as released (the layer's copy keeps only the services the package calls).

Wall time is from spawning the child to reaping it: medians over `runs` rounds after a warm-up round; every round
runs all variants in a new random order, so load changes on a shared machine hit all alike, and every ratio
compares medians of this one run. CPU is the child's user + system time. Instructions are counted once per
variant with valgrind's callgrind (when installed): they hardly move with the machine's load, which moves wall
time by about ±5 % here.

    .venv/bin/python benchmarks/cold_start.py [--runs N] [--no-instructions]     (after `make package`)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from deployment.lambda_emulator import (  # noqa: E402 - run as a script, the repository is not on sys.path
    TWIN_LAYER,
    BuiltFunction,
    built_function,
    built_stack,
    environment,
    python_command,
)
from deployment.local_aws import DEMO_API_KEYS_SECRET_ARN, DEMO_KEPT_TOKEN_ID, LocalAws  # noqa: E402

EVENTS = ROOT / "events"
FLOOR_FUNCTION = Path(__file__).resolve().parent / "floor_function"
WHEELHOUSE = ROOT / ".aws-sam" / "wheels"
API_TARGET = 1.30  # init, and init + first request, of every API function
BACKBONE_TARGET = 1.05  # the embedded backbone's init
CHILD_DEADLINE_S = 300  # for a hang only (valgrind runs a child about 50 times slower)


@dataclass(frozen=True)
class Case:
    """One function's init, or its init and one sample event; `floor` names the floor variant it is compared to."""

    key: str
    label: str
    function: str  # logical id in template.yaml
    event: str | None  # events/<event>.json; None: init only
    floor: str
    target: float | None  # None: informational
    note: str = ""


FLOOR_INIT = "floor init"
INITS = (
    Case("init FileTokenFunction", "FileTokenFunction", "FileTokenFunction", None, FLOOR_INIT, API_TARGET),
    Case("init TemplateTokenFunction", "TemplateTokenFunction", "TemplateTokenFunction", None, FLOOR_INIT, API_TARGET),
    Case("init OwnTokenFunction", "OwnTokenFunction", "OwnTokenFunction", None, FLOOR_INIT, API_TARGET),
    Case("init TokenReadFunction", "TokenReadFunction", "TokenReadFunction", None, FLOOR_INIT, API_TARGET),
    Case("init TokenRevokeFunction", "TokenRevokeFunction", "TokenRevokeFunction", None, FLOOR_INIT, API_TARGET),
    Case("init PeerTokenFunction", "PeerTokenFunction", "PeerTokenFunction", None, FLOOR_INIT, API_TARGET),
    Case("init ServiceStatusFunction", "ServiceStatusFunction", "ServiceStatusFunction", None, FLOOR_INIT, API_TARGET),
    Case(
        "init BackboneTokenFunction",
        "BackboneTokenFunction",
        "BackboneTokenFunction",
        None,
        FLOOR_INIT,
        BACKBONE_TARGET,
    ),
    Case("init TokenBatchFunction", "TokenBatchFunction (SQS)", "TokenBatchFunction", None, FLOOR_INIT, None),
    Case("init ApiAuthorizerFunction", "ApiAuthorizerFunction (keys)", "ApiAuthorizerFunction", None, FLOOR_INIT, None),
)
# The API keys' authorizer: its first request (reading the secret, a policy for the key) has no boto3-only floor job;
# it is shown against the floor's init, what any function costs before it does anything.
AUTHORIZER_FIRST = Case(
    "first api_authorizer",
    "ApiAuthorizerFunction, api_authorizer",
    "ApiAuthorizerFunction",
    "api_authorizer",
    FLOOR_INIT,
    None,
    "floor init: the authorizer has no DynamoDB calls to compare",
)
# (function, event, target, note); the floor job of the event's calls, or of the named event's.
FIRST_REQUESTS: tuple[tuple[str, str, float | None, str], ...] = (
    ("FileTokenFunction", "file_token_json", API_TARGET, ""),
    ("TemplateTokenFunction", "template_token_json", API_TARGET, ""),
    ("OwnTokenFunction", "own_token_json", API_TARGET, ""),
    ("TokenReadFunction", "token_get_json", API_TARGET, ""),
    ("TokenReadFunction", "tokens_own_query", API_TARGET, ""),
    ("TokenRevokeFunction", "token_revoke", API_TARGET, ""),
    ("ServiceStatusFunction", "health", API_TARGET, ""),
    ("FileTokenFunction", "file_token_png", None, "file_token_json: a QR code has no boto3-only counterpart"),
    ("TokenReadFunction", "token_get_png", None, "token_get_json: a QR code has no boto3-only counterpart"),
    ("BackboneTokenFunction", "backbone_get_token_password", None, "Argon2id (20 MiB) has no boto3-only counterpart"),
)


def first_request_cases() -> list[Case]:
    cases = []
    for function, event, target, note in FIRST_REQUESTS:
        floor_event = note.split(":")[0] if note.startswith(("file_token_json", "token_get_json")) else event
        cases.append(
            Case(f"first {event}", f"{function}, {event}", function, event, f"floor job {floor_event}", target, note)
        )
    return [*cases, AUTHORIZER_FIRST]


@dataclass(frozen=True)
class Variant:
    key: str
    command: list[str]
    env: dict[str, str]
    stdin: bytes
    after: Callable[[], None] | None = None  # runs after each spawn, untimed (puts a revoked token back)


def released_endpoints() -> bytes:
    """botocore's endpoints.json from the wheel the layer was built from (the wheelhouse keeps it)."""
    wheels = sorted(WHEELHOUSE.glob("botocore-*.whl"))
    if not wheels:
        raise SystemExit(f"no botocore wheel in {WHEELHOUSE}: run `make package` first")
    with zipfile.ZipFile(wheels[-1]) as wheel:
        return wheel.read("botocore/data/endpoints.json")


@contextmanager
def floor_layer() -> Iterator[Path]:
    """A copy of the layer's twin whose botocore has endpoints.json as released."""
    with tempfile.TemporaryDirectory(prefix="nmshd-floor-layer-") as scratch:
        layer = Path(scratch)
        shutil.copytree(TWIN_LAYER / "python", layer / "python")
        (layer / "python" / "botocore" / "data" / "endpoints.json").write_bytes(released_endpoints())
        yield layer


def floor_of(function: BuiltFunction, layer: Path) -> BuiltFunction:
    """The floor function with the environment of `function` (its tables) on the floor layer."""
    return replace(
        function, logical_id="FloorFunction", task_root=FLOOR_FUNCTION, layer_root=layer, handler="app.lambda_handler"
    )


def event_bytes(name: str | None) -> bytes:
    return b"" if name is None else (EVENTS / f"{name}.json").read_bytes()


def variants(aws: LocalAws, layer: Path) -> tuple[list[Variant], list[Case]]:
    stack = aws.stack
    built = {case.function: built_function(case.function, stack=stack) for case in INITS}
    restore = kept_token_restorer(aws)
    endpoint = aws.endpoint
    found = [
        Variant(
            FLOOR_INIT,
            python_command(floor_of(built["FileTokenFunction"], layer), init_only=True),
            environment(built["FileTokenFunction"], endpoint),
            b"",
        )
    ]
    cases = list(INITS) + first_request_cases()
    floor_events: set[str] = set()
    for case in cases:
        function = built[case.function]
        after = restore if case.event == "token_revoke" else None
        if case.event is None:
            found.append(
                Variant(case.key, python_command(function, init_only=True), environment(function, endpoint), b"")
            )
            continue
        found.append(
            Variant(
                case.key,
                python_command(function, no_teardown=True),
                environment(function, endpoint),
                event_bytes(case.event),
                after,
            )
        )
        floor_event = case.floor.removeprefix("floor job ")
        if case.floor != FLOOR_INIT and floor_event not in floor_events:
            floor_events.add(floor_event)
            found.append(
                Variant(
                    case.floor,
                    python_command(floor_of(function, layer), no_teardown=True),
                    environment(function, endpoint),
                    event_bytes(floor_event),
                    after,
                )
            )
    return found, cases


def kept_token_restorer(aws: LocalAws) -> Callable[[], None]:
    """Puts the kept demo token's two items back, as seeded: each revoke then finds it."""
    tables = aws.stack.resources_of_type("AWS::DynamoDB::Table")
    key = {"id": {"S": DEMO_KEPT_TOKEN_ID}}
    items = {table: aws.dynamodb.get_item(TableName=table, Key=key)["Item"] for table in tables.values()}

    def restore() -> None:
        for table, item in items.items():
            aws.dynamodb.put_item(TableName=table, Item=item)

    return restore


@dataclass(frozen=True)
class Sample:
    wall: float  # s, spawn to reaped
    user: float  # s, the child's CPU time in user mode
    system: float  # s, in the kernel (for an init: mostly finding, opening and reading modules)

    @property
    def cpu(self) -> float:
        return self.user + self.system


def spawn(variant: Variant) -> Sample:
    """One child, timed; its CPU time is what the finished children used, before and after (one child at a time)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603 - our own command line
        variant.command,
        env=variant.env,
        input=variant.stdin,
        capture_output=True,
        timeout=CHILD_DEADLINE_S,
        check=False,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if variant.after is not None:
        variant.after()
    check(variant, done.returncode, done.stdout, done.stderr)
    return Sample(wall, after.ru_utime - children.ru_utime, after.ru_stime - children.ru_stime)


def check(variant: Variant, code: int, output: bytes, logs: bytes) -> None:
    """A benchmark of a failing request would measure the wrong thing: every child must answer as expected."""
    result = json.loads(output.decode().strip().splitlines()[-1]) if output.strip() else None
    failed = code != 0 or result is None or (isinstance(result, dict) and result.get("statusCode", 200) >= 400)
    if failed:
        raise RuntimeError(f"{variant.key}: exit {code}, result {str(result)[:300]}\n{logs.decode()[-2000:]}")


_COLLECTED = re.compile(r"Collected : (\d+)")


def instructions(variant: Variant) -> int:
    """Instructions the child executed (callgrind), its whole life from exec to os._exit."""
    with tempfile.NamedTemporaryFile(prefix="callgrind-", suffix=".log") as log:
        command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", f"--log-file={log.name}"]
        done = subprocess.run(  # noqa: S603 - our own command line
            command + variant.command,
            env=variant.env,
            input=variant.stdin,
            capture_output=True,
            timeout=CHILD_DEADLINE_S,
            check=False,
        )
        if variant.after is not None:
            variant.after()
        check(variant, done.returncode, done.stdout, done.stderr)
        found = _COLLECTED.search(Path(log.name).read_text())
    if found is None:
        raise RuntimeError(f"{variant.key}: callgrind reported no instruction count")
    return int(found.group(1))


def count_all(chosen: list[Variant], progress: Callable[[str], None]) -> dict[str, int]:
    """Instruction counts, one valgrind per CPU at a time (counts do not depend on the load); variants that
    change shared state (a revoke puts its token back afterwards) run alone, after the others."""
    alone = [variant for variant in chosen if variant.after is not None]
    counted: dict[str, int] = {}
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        futures = {pool.submit(instructions, variant): variant for variant in chosen if variant.after is None}
        for future in as_completed(futures):
            counted[futures[future].key] = future.result()
            progress(f"   cold start: instructions {len(counted)}/{len(chosen)} ({futures[future].key})")
    for variant in alone:
        counted[variant.key] = instructions(variant)
        progress(f"   cold start: instructions {len(counted)}/{len(chosen)} ({variant.key})")
    return counted


def run(
    runs: int = 10, count_instructions: bool = True, quick: bool = False, progress: Callable[[str], None] = print
) -> dict[str, Any]:
    """`quick` counts the instructions of the floor's init and FileTokenFunction's only (a smoke test)."""
    count_instructions = count_instructions and shutil.which("valgrind") is not None
    stack = built_stack(parameter_overrides={"ApiKeysSecretArn": DEMO_API_KEYS_SECRET_ARN})  # the demo keys' secret
    with LocalAws(stack) as aws, floor_layer() as layer:
        chosen, cases = variants(aws, layer)
        samples: dict[str, list[Sample]] = {variant.key: [] for variant in chosen}
        order = random.Random(20261203)
        for round_index in range(runs + 1):
            for variant in order.sample(chosen, len(chosen)):  # a fresh order each round: no position bias
                sample = spawn(variant)
                if round_index:  # round 0 warms the page cache and compiles the functions' app.py
                    samples[variant.key].append(sample)
            if round_index:
                progress(f"   cold start: {round_index}/{runs} rounds of {len(chosen)} processes")
        counted: dict[str, int] = {}
        if count_instructions:
            counted_variants = [v for v in chosen if not quick or v.key in (FLOOR_INIT, "init FileTokenFunction")]
            counted = count_all(counted_variants, progress)
    wall = {key: statistics.median(sample.wall for sample in found) for key, found in samples.items()}
    cpu = {key: statistics.median(sample.cpu for sample in found) for key, found in samples.items()}

    def row(key: str, label: str, floor: str | None, target: float | None, note: str = "") -> dict[str, Any]:
        walls = sorted(sample.wall for sample in samples[key])
        compared = floor or key
        return {
            "key": key,
            "label": label,
            "floor": floor,
            "target": target,
            "note": note,
            "runs": len(walls),
            "wall_median_ms": wall[key] * 1000,
            "wall_p10_ms": walls[int(0.1 * (len(walls) - 1))] * 1000,
            "wall_p90_ms": walls[int(0.9 * (len(walls) - 1))] * 1000,
            "cpu_median_ms": cpu[key] * 1000,
            "system_median_ms": statistics.median(sample.system for sample in samples[key]) * 1000,
            "over_floor": wall[key] / wall[compared],
            "cpu_over_floor": cpu[key] / cpu[compared],
            "instructions": counted.get(key),
            "instructions_over_floor": counted[key] / counted[compared] if {key, compared} <= set(counted) else None,
        }

    rows = [row(FLOOR_INIT, 'floor: import boto3; boto3.client("dynamodb")', None, None)]
    rows += [row(case.key, case.label, case.floor, case.target, case.note) for case in cases if case.event is None]
    floors = sorted({case.floor for case in cases if case.event is not None and case.floor != FLOOR_INIT})
    rows += [
        row(key, f"floor job: {key.removeprefix('floor job ')}'s DynamoDB calls, boto3 alone", None, None)
        for key in floors
    ]
    rows += [row(case.key, case.label, case.floor, case.target, case.note) for case in cases if case.event is not None]
    return {
        "python": python_version(chosen[0]),
        "runs": runs,
        "instructions_counted": bool(counted),
        "rows": rows,
    }


def python_version(variant: Variant) -> str:
    done = subprocess.run(
        [variant.command[0], "-c", "import sys; print(sys.version.split()[0])"],  # noqa: S603
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target, judged on the instruction count's ratio when there is one, else on the wall-time medians'.

    Instructions, because on this shared machine the medians of wall time move by ±10 % between runs (p10-p90
    spreads of 40 %) while the counts move by well under 1 %; the wall-time ratio is shown beside them.
    """
    found = []
    for r in result["rows"]:
        if r["target"] is None:
            continue
        against = "floor" if r["floor"] == FLOOR_INIT else r["floor"]
        judged = r["instructions_over_floor"] or r["over_floor"]
        found.append(
            {
                "target": f"{r['label']} {'init' if r['key'].startswith('init') else 'init + first request'} "
                f"≤ {r['target']:.2f}× {against}",
                "measured": (
                    f"{r['instructions_over_floor']:.2f}× instructions, " if r["instructions_over_floor"] else ""
                )
                + f"{r['over_floor']:.2f}× wall (kernel {r['system_median_ms']:.0f} ms)",
                "met": judged <= r["target"],
            }
        )
    return found


def table(result: dict[str, Any]) -> str:
    header = f"{'':<62} {'wall ms':>7} {'p10–p90':>9} {'×':>6} | {'CPU ms':>6} {'×':>6} | {'Minstr':>7} {'×':>6}"
    lines = [
        f"Python {result['python']}, {result['runs']} rounds; × = over the floor named in the row's section",
        header,
    ]
    lines.append("-" * len(header))
    for r in result["rows"]:
        if r["key"] == FLOOR_INIT:
            lines.append("init (the runtime loads the handler module), against the floor's init:")
        elif r["key"].startswith("floor job") and not lines[-1].startswith("  floor job"):
            lines.append("init + first request, each against the floor job of the same DynamoDB calls:")
        label = ("  " if r["target"] is None else "* ") + r["label"]
        if r["note"]:
            label += f" (vs {r['note'].split(':')[0]})" if ":" in r["note"] else ""
        spread = f"{r['wall_p10_ms']:.0f}–{r['wall_p90_ms']:.0f}"
        count = f"{r['instructions'] / 1e6:>7.0f} {r['instructions_over_floor']:>5.2f}×" if r["instructions"] else ""
        lines.append(
            f"{label[:62]:<62} {r['wall_median_ms']:>7.0f} {spread:>9} {r['over_floor']:>5.2f}× | "
            f"{r['cpu_median_ms']:>6.0f} {r['cpu_over_floor']:>5.2f}× | {count}"
        )
    lines.append("* has a target: API functions ≤ 1.30×, the embedded backbone's init ≤ 1.05×")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--no-instructions", action="store_true", help="skip the callgrind counts")
    args = parser.parse_args()
    result = run(args.runs, count_instructions=not args.no_instructions)
    print(table(result))
    for target in targets(result):
        print(f"{'met    ' if target['met'] else 'MISSED '} {target['target']}: {target['measured']}")


if __name__ == "__main__":
    main()
