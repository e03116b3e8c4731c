"""Build the shared Lambda layer for one CPU architecture: nmshd_tokens plus requirements.lock's wheels.

    python3.13 deployment/build_layer.py --arch arm64 OUTPUT_DIR

`sam build` runs it for the deployed arm64 layer (template.yaml's SharedLayer → `make build-SharedLayer`);
`make package` runs it again with `--arch x86_64` for a twin that the local emulation can load on an x86_64
machine. Both come from the same lock through the same steps, so they hold the same files.

It must run on Python 3.13, the runtime's version: the bytecode it writes is only valid for that version. The
wheels are chosen for the target (CPython 3.13, manylinux2014 or manylinux_2_28 - the runtime's Amazon Linux 2023
has glibc 2.34 -, the given architecture), whatever the host is.
"""

from __future__ import annotations

import argparse
import compileall
import importlib.util
import json
import py_compile
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "shared" / "nmshd_tokens"
LOCK = ROOT / "requirements.lock"
WHEELHOUSE = ROOT / ".aws-sam" / "wheels"  # wheels of earlier builds, both architectures (cleared by make clean)
RUNTIME = (3, 13)
# pip takes each tag as given (no older manylinux tags implied): google-re2 ships manylinux_2_28 wheels only.
WHEEL_PLATFORMS = {
    "arm64": ("manylinux2014_aarch64", "manylinux_2_28_aarch64"),
    "x86_64": ("manylinux2014_x86_64", "manylinux_2_28_x86_64"),
}
ENDPOINTS = Path("botocore") / "data" / "endpoints.json"  # below the layer's python/ folder


@dataclass(frozen=True)
class LayerBuild:
    architecture: str
    output: Path  # the layer's root: Lambda mounts it at /opt

    @property
    def python_dir(self) -> Path:
        """Lambda puts /opt/python on sys.path."""
        return self.output / "python"


def copy_package(build: LayerBuild) -> None:
    """The package as it is: everything in shared/nmshd_tokens runs in Lambda (the local stack lives in local/)."""
    shutil.copytree(PACKAGE, build.python_dir / PACKAGE.name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


def _pip(command: str, build: LayerBuild, *options: str, quiet_failure: bool = False) -> bool:
    """pip for the target platform with the lock's hashes; True when it succeeded."""
    completed = subprocess.run(  # noqa: S603 - fixed arguments, our own interpreter
        [
            sys.executable,
            "-m",
            "pip",
            command,
            "--quiet",
            "--disable-pip-version-check",
            "--require-hashes",
            "--requirement",
            str(LOCK),
            *(option for platform in WHEEL_PLATFORMS[build.architecture] for option in ("--platform", platform)),
            "--implementation",
            "cp",
            "--python-version",
            ".".join(map(str, RUNTIME)),
            "--only-binary=:all:",
            *options,
        ],
        capture_output=quiet_failure,
        check=False,
    )
    return completed.returncode == 0


def install_dependencies(build: LayerBuild) -> None:
    """The lock's wheels, from the wheelhouse of earlier builds when it has them all (no index queries: much
    faster), else downloaded into it first. pip checks every wheel against the lock's hash either way."""
    install = ["--no-index", "--find-links", str(WHEELHOUSE), "--target", str(build.python_dir)]
    install += ["--no-compile", "--no-warn-conflicts", "--root-user-action=ignore"]
    # A wheel missing from the wheelhouse stops pip while it resolves, before it writes anything to the target.
    if _pip("install", build, *install, quiet_failure=True):
        return
    print("        downloading the wheels into the wheelhouse first", flush=True)
    if not _pip("download", build, "--dest", str(WHEELHOUSE)) or not _pip("install", build, *install):
        raise SystemExit(f"pip could not install {LOCK.name} for {build.architecture} (see above)")


def called_services() -> frozenset[str]:
    """aws_clients.SERVICES (that module imports nothing but the standard library at load)."""
    spec = importlib.util.spec_from_file_location("aws_clients", PACKAGE / "storage" / "aws_clients.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return frozenset(module.SERVICES)


def endpoints_of(endpoints: dict[str, Any], services: Collection[str]) -> dict[str, Any]:
    """endpoints.json's data with every partition and, of the services, only `services`, each entry unchanged."""
    known = {name for partition in endpoints["partitions"] for name in partition["services"]}
    if unknown := set(services) - known:
        raise SystemExit(f"botocore's endpoints.json has no service {', '.join(sorted(unknown))}")
    partitions = [
        {**partition, "services": {name: data for name, data in partition["services"].items() if name in services}}
        for partition in endpoints["partitions"]
    ]
    return {**endpoints, "partitions": partitions}


def cut_down_endpoints(build: LayerBuild) -> None:
    """botocore parses endpoints.json (1.2 MB: every service in every partition) when a process makes its first
    client, about a tenth of a bare `boto3.client("dynamodb")` cold start. The layer's copy keeps every partition
    (regions, DNS suffixes, defaults) and only the services aws_client() may make clients of, so those resolve
    exactly the endpoints they resolved before (tests/package/test_layer.py compares them region by region).

    The file is replaced in place, not found through botocore's data path (AWS_DATA_PATH): an endpoints.json from
    outside botocore's own folder makes botocore pass its legacy endpoint to the endpoint rules as a custom one,
    which changes some FIPS endpoints (botocore 1.44: S3 in us-east-1 and cn-north-1, DynamoDB in us-gov-west-1).
    """
    path = build.python_dir / ENDPOINTS
    original = path.read_bytes()
    kept = endpoints_of(json.loads(original), called_services())
    path.write_text(json.dumps(kept, separators=(",", ":")))
    print(f"        endpoints.json: {len(original) / 1e3:.0f} kB -> {path.stat().st_size / 1e3:.0f} kB", flush=True)


def compile_bytecode(build: LayerBuild) -> None:
    """Lambda's /opt is read-only, so without .pyc every cold start would compile the sources again.

    Hash-based and unchecked: zip archives round file times, which would invalidate timestamp-based .pyc.
    """
    compiled = compileall.compile_dir(
        build.python_dir,
        quiet=1,
        workers=0,
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )
    if not compiled:
        raise SystemExit("compiling the layer's bytecode failed (see above)")


Step = Callable[[LayerBuild], None]
# Each step is one line here; they run in this order.
STEPS: tuple[tuple[str, Step], ...] = (
    ("copy nmshd_tokens", copy_package),
    ("install requirements.lock as CPython {python} {architecture} wheels", install_dependencies),
    ("keep only the endpoints of the AWS services nmshd_tokens calls", cut_down_endpoints),
    ("compile bytecode for Python {python}", compile_bytecode),
)


def size_of(folder: Path) -> tuple[int, int]:
    """(files, bytes) under folder."""
    files = [path for path in folder.rglob("*") if path.is_file()]
    return len(files), sum(path.stat().st_size for path in files)


def build_layer(build: LayerBuild) -> None:
    shutil.rmtree(build.python_dir, ignore_errors=True)  # never mix in files of an earlier build
    build.python_dir.mkdir(parents=True)
    labels = {"python": ".".join(map(str, RUNTIME)), "architecture": build.architecture}
    for number, (label, step) in enumerate(STEPS, start=1):
        started = time.perf_counter()
        print(f"  [{number}/{len(STEPS)}] {label.format(**labels)}", flush=True)
        step(build)
        print(f"        done in {time.perf_counter() - started:.1f} s", flush=True)
    files, size = size_of(build.output)
    print(f"  layer ({build.architecture}): {files} files, {size / 1e6:.1f} MB unzipped in {build.output}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", choices=sorted(WHEEL_PLATFORMS), required=True, help="the layer's CPU architecture")
    parser.add_argument("output", type=Path, help="the layer's root folder (python/ is written below it)")
    args = parser.parse_args(argv)
    if sys.version_info[:2] != RUNTIME:
        version = ".".join(map(str, RUNTIME))
        print(
            f"build_layer.py needs Python {version} (the runtime's bytecode), not {sys.version.split()[0]}: "
            f"run it with python{version} (`make package` finds one through pyenv)",
            file=sys.stderr,
        )
        return 2
    build_layer(LayerBuild(args.arch, args.output.resolve()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
