"""The built layer: what it holds, for which CPU, how big; and its x86_64 twin, which the emulation loads instead."""

from __future__ import annotations

import re
import struct
from pathlib import Path

import pytest

from deployment.lambda_emulator import TWIN_LAYER
from tests.infra.test_locks import pins
from tests.support import ROOT

# Measured 47.5 MB unzipped with bytecode (arm64, 2026-12-03). The budget leaves room for ordinary growth and
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


def test_the_package_ships_whole_but_for_its_local_tooling(arm64_layer: Path) -> None:
    def sources(package: Path) -> set[str]:
        return {path.relative_to(package).as_posix() for path in package.rglob("*") if path.suffix in (".py", ".html")}

    source = sources(ROOT / "shared" / "nmshd_tokens")
    tooling = {name for name in source if name == "cli.py" or name.startswith("local/")}
    assert tooling and sources(arm64_layer / "python" / "nmshd_tokens") == source - tooling


def test_every_source_file_has_python_3_13_bytecode(arm64_layer: Path) -> None:
    """Lambda's /opt is read-only: without .pyc every cold start would compile the sources again."""
    sources = list((arm64_layer / "python").rglob("*.py"))
    missing = [
        str(path.relative_to(arm64_layer))
        for path in sources
        if not (path.parent / "__pycache__" / f"{path.stem}.cpython-313.pyc").is_file()
    ]
    assert sources and missing == []
