"""The built layer: what it holds, for which CPU, how big; and its x86_64 twin, which the emulation loads instead."""

from __future__ import annotations

import json
import re
import struct
import subprocess
import sys
from pathlib import Path

import botocore
import pytest
from nmshd_tokens.storage.aws_clients import SERVICES

from deployment.lambda_emulator import TWIN_LAYER, runtime_python
from deployment.lambda_runtime import lambda_sys_path
from tests.infra.test_locks import pins
from tests.support import ROOT

# Measured 46.3 MB unzipped with bytecode (arm64, 2026-12-03). The budget leaves room for ordinary growth and
# fails on an accidental addition (a test tool, a second copy of botocore); Lambda's limit is far above it.
LAYER_BUDGET_BYTES = 55_000_000
LAMBDA_UNZIPPED_LIMIT_BYTES = 250 * 1024 * 1024  # function and all its layers
ELF_MAGIC = b"\x7fELF"
EM_X86_64, EM_AARCH64 = 62, 183
# Extension module names carry the platform: _pydantic_core.cpython-313-aarch64-linux-gnu.so.
_PLATFORM_TAG = re.compile(r"-(aarch64|x86_64)-linux-gnu")


@pytest.fixture(scope="module")
def arm64_layer(package: Path) -> Path:
    return package / "SharedLayer"


def files_of(layer: Path) -> dict[str, Path]:
    return {path.relative_to(layer).as_posix(): path for path in layer.rglob("*") if path.is_file()}


def elf_machine(path: Path) -> int | None:
    """The ELF header's e_machine (both targets are little-endian), or None for a file that is not ELF."""
    with path.open("rb") as file:
        header = file.read(20)
    if not header.startswith(ELF_MAGIC):
        return None
    machine: int = struct.unpack_from("<H", header, 18)[0]
    return machine


def binaries(layer: Path) -> dict[str, int]:
    machines = {name: elf_machine(path) for name, path in files_of(layer).items()}
    return {name: machine for name, machine in machines.items() if machine is not None}


def test_both_twins_hold_the_same_files(arm64_layer: Path) -> None:
    arm64 = {_PLATFORM_TAG.sub("-<arch>-linux-gnu", name) for name in files_of(arm64_layer)}
    x86_64 = {_PLATFORM_TAG.sub("-<arch>-linux-gnu", name) for name in files_of(TWIN_LAYER)}
    assert arm64 - x86_64 == set() and x86_64 - arm64 == set()


def test_every_compiled_module_of_the_deployed_layer_is_aarch64(arm64_layer: Path) -> None:
    found = binaries(arm64_layer)
    assert any(name.endswith(".so") for name in found), "no compiled module found: the check would be vacuous"
    assert {name: machine for name, machine in found.items() if machine != EM_AARCH64} == {}


def test_the_twin_is_x86_64_with_the_same_modules(arm64_layer: Path) -> None:
    found = binaries(TWIN_LAYER)
    assert {name: machine for name, machine in found.items() if machine != EM_X86_64} == {}
    assert {_PLATFORM_TAG.sub("", name) for name in found} == {
        _PLATFORM_TAG.sub("", name) for name in binaries(arm64_layer)
    }


def test_the_layer_stays_within_its_size_budget(package: Path, arm64_layer: Path) -> None:
    layer = sum(path.stat().st_size for path in files_of(arm64_layer).values())
    functions = sum(
        path.stat().st_size
        for folder in package.iterdir()
        if folder.name.endswith("Function")
        for path in files_of(folder).values()
    )
    print(f"layer {layer / 1e6:.1f} MB unzipped, functions {functions / 1e3:.1f} kB")
    assert layer + functions <= LAYER_BUDGET_BYTES < LAMBDA_UNZIPPED_LIMIT_BYTES / 4


def test_the_layer_ships_exactly_the_runtime_lock(arm64_layer: Path) -> None:
    """Every distribution of requirements.lock at its pinned version, and nothing else (no test tool, no moto)."""
    shipped = {}
    for info in (arm64_layer / "python").glob("*.dist-info"):
        name, _, version = info.name.removesuffix(".dist-info").rpartition("-")
        shipped[name.lower().replace("_", "-")] = version
    assert shipped == pins("requirements.lock")


def test_the_layer_ships_the_package_whole_and_no_local_tooling(arm64_layer: Path) -> None:
    def sources(package: Path) -> set[str]:
        return {path.relative_to(package).as_posix() for path in package.rglob("*") if path.suffix in (".py", ".html")}

    source = sources(ROOT / "shared" / "nmshd_tokens")
    assert source and sources(arm64_layer / "python" / "nmshd_tokens") == source
    assert not (arm64_layer / "python" / "nmshd_tokens_local").exists()


def test_every_source_file_has_python_3_13_bytecode(arm64_layer: Path) -> None:
    """Lambda's /opt is read-only: without .pyc every cold start would compile the sources again."""
    sources = list((arm64_layer / "python").rglob("*.py"))
    missing = [
        str(path.relative_to(arm64_layer))
        for path in sources
        if not (path.parent / "__pycache__" / f"{path.stem}.cpython-313.pyc").is_file()
    ]
    assert sources and missing == []


ENDPOINTS = Path("python") / "botocore" / "data" / "endpoints.json"
PROBE = Path(__file__).with_name("endpoint_probe.py")


def released_endpoints() -> dict[str, object]:
    """endpoints.json as botocore releases it (the dev virtualenv's botocore, the lock's version)."""
    data: dict[str, object] = json.loads((Path(botocore.__file__).parent / "data" / "endpoints.json").read_text())
    return data


def test_the_layer_keeps_the_endpoints_of_the_services_it_calls_only(arm64_layer: Path) -> None:
    released = released_endpoints()
    for layer in (arm64_layer, TWIN_LAYER):
        kept = json.loads((layer / ENDPOINTS).read_text())
        assert [set(partition["services"]) for partition in kept["partitions"]] == [
            SERVICES & set(partition["services"])
            for partition in released["partitions"]  # type: ignore[index]
        ]
        for mine, theirs in zip(kept["partitions"], released["partitions"], strict=True):  # type: ignore[call-overload]
            assert {key: value for key, value in mine.items() if key != "services"} == {
                key: value for key, value in theirs.items() if key != "services"
            }
            assert mine["services"] == {name: theirs["services"][name] for name in mine["services"]}
    assert (arm64_layer / ENDPOINTS).stat().st_size < len(json.dumps(released)) / 20


def probe(command: list[str]) -> dict[str, str]:
    done = subprocess.run([*command, ",".join(sorted(SERVICES))], capture_output=True, text=True, check=True)
    found = json.loads(done.stdout)
    assert found["botocore"] == botocore.__version__  # the same botocore release on both sides
    urls: dict[str, str] = found["urls"]
    return urls


def test_every_client_resolves_the_endpoints_of_released_botocore(package: Path) -> None:
    """Region by region, plain, FIPS and dual-stack: the layer's clients call what a full botocore would call."""
    path = lambda_sys_path(task_root=str(PROBE.parent), opt=str(TWIN_LAYER))
    start = f"import runpy, sys; sys.path[:0] = {path!r}; sys.argv[:] = sys.argv[1:]; "
    in_layer = probe(
        [runtime_python(), "-I", "-S", "-c", start + f"runpy.run_path({str(PROBE)!r}, run_name='__main__')", str(PROBE)]
    )
    released = probe([sys.executable, str(PROBE)])
    assert len(released) > 300 and sum(url.startswith("https://") for url in released.values()) > 300
    assert in_layer == released
