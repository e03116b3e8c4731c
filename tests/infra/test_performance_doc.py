"""docs/performance.md shows the committed benchmark run: its tables are what benchmarks/report.py makes of
benchmarks/results.json, and the hand-written rest is left alone when they are made anew."""

from __future__ import annotations

import copy
import importlib.util
import json
import shutil
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results.json"
DOC = ROOT / "docs" / "performance.md"


@pytest.fixture(scope="module")
def report() -> ModuleType:
    spec = importlib.util.spec_from_file_location("benchmarks_report", ROOT / "benchmarks" / "report.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def committed_results() -> dict[str, Any]:
    results: dict[str, Any] = json.loads(RESULTS.read_text(encoding="utf-8"))
    return results


def test_the_docs_tables_are_the_committed_results(report: ModuleType) -> None:
    doc = DOC.read_text(encoding="utf-8")
    assert doc.count(report.BEGIN) == 1 and doc.count(report.END) == 1
    expected = report.with_tables(doc, committed_results())
    assert doc == expected, (
        "docs/performance.md's tables differ from benchmarks/results.json: run `.venv/bin/python benchmarks/report.py`"
    )


def test_the_tables_show_every_section_of_a_run(report: ModuleType) -> None:
    text = report.tables(committed_results())
    for heading in ("QR code PNG", "Cold start", "Warm requests", "Argon2id", "GET /Tokens/Own", "Targets"):
        assert heading in text
    assert "FileTokenFunction" in text and "backbone_token" in text


def test_a_changed_figure_changes_only_the_generated_part(report: ModuleType, tmp_path: Path) -> None:
    results = copy.deepcopy(committed_results())
    results["argon2id"]["median_ms"] = 987.6
    results_file = tmp_path / "results.json"
    results_file.write_text(json.dumps(results), encoding="utf-8")
    doc_file = tmp_path / "performance.md"
    shutil.copyfile(DOC, doc_file)

    assert report.refresh(results_file, doc_file) is True
    rewritten = doc_file.read_text(encoding="utf-8")
    assert "median 987.6 ms" in rewritten
    original = DOC.read_text(encoding="utf-8")
    for part in (original.split(report.BEGIN)[0], original.split(report.END)[1]):
        assert part and part in rewritten  # the hand-written prose before and after the tables
    assert report.refresh(results_file, doc_file) is False  # made anew from the same results: no change


def test_a_doc_without_markers_is_refused(report: ModuleType) -> None:
    with pytest.raises(ValueError, match="markers"):
        report.with_tables("# Performance\n\nno tables here\n", committed_results())
