"""The README's Python examples run as written, and its test command is the one CI runs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)


def test_python_examples_run():
    blocks = _blocks("python")
    assert blocks, "README.md has no python example"
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {"__name__": "readme"})


def test_ci_runs_the_readme_test_command():
    commands = [line for block in _blocks("bash") for line in block.splitlines() if "pytest" in line]
    assert len(commands) == 1
    test_command = commands[0].split("&&")[-1].strip()
    assert test_command in (ROOT / ".ci" / "run").read_text().splitlines()
