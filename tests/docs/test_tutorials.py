"""Every tutorial of the documentation site runs: its ```python blocks are executed in order, in one
namespace per page, at the small sizes the page uses (each page asserts what it teaches)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

TUTORIALS = Path(__file__).resolve().parents[2] / "docs" / "tutorials"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def python_blocks(page: Path) -> list[str]:
    """The code of every ```python block of ``page``, in order."""
    return BLOCK.findall(page.read_text())


def test_every_tutorial_page_has_code():
    pages = sorted(TUTORIALS.glob("*.md"))
    assert {page.stem for page in pages} >= {"bptt", "slayer", "lee", "na", "normad"}
    assert all(python_blocks(page) for page in pages)


@pytest.mark.parametrize("page", sorted(TUTORIALS.glob("*.md")), ids=lambda page: page.stem)
def test_tutorial_runs(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # whatever a page writes stays in the test's folder
    namespace: dict = {"__name__": f"tutorial_{page.stem}"}
    for index, code in enumerate(python_blocks(page)):
        exec(compile(code, f"{page.name} (block {index + 1})", "exec"), namespace)
