"""Running a documentation page: its ```python blocks, in order, in one namespace, in a scratch folder."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def blocks_of(page: Path) -> list[str]:
    """The code of every ```python block of ``page``, in order."""
    return BLOCK.findall(page.read_text())


@pytest.fixture
def python_blocks() -> Callable[[Path], list[str]]:
    """:func:`blocks_of`, for tests."""
    return blocks_of


@pytest.fixture
def run_page(tmp_path, monkeypatch) -> Callable[[Path], dict]:
    """Execute a page's python blocks in ``tmp_path`` (whatever a page writes stays there); return the namespace."""

    def run(page: Path) -> dict:
        blocks = blocks_of(page)
        assert blocks, f"{page.name} has no ```python block"
        monkeypatch.chdir(tmp_path)
        namespace: dict = {"__name__": f"docs_page_{page.stem}"}
        for index, code in enumerate(blocks):
            exec(compile(code, f"{page.name} (block {index + 1})", "exec"), namespace)
        return namespace

    return run
