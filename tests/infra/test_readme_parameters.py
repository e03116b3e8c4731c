"""The README's deploy table names every parameter `sam deploy --guided` asks for, and no other."""

from __future__ import annotations

import re

from tests.infra.conftest import ROOT, parse_template


def documented_parameters() -> set[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Deploying to AWS", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"`([A-Z][A-Za-z0-9]+)`", row.split(" | ")[0])}


def test_the_deploy_table_names_every_template_parameter() -> None:
    assert documented_parameters() == set(parse_template()["Parameters"])
