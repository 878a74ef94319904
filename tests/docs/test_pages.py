"""The code of the documentation site's reference pages runs (the tutorials and the NIR/Tonic page have
their own tests): every ```python block, in order, and each page asserts what it shows."""

from __future__ import annotations

from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
PAGES = ["concepts.md", "compare.md"]


@pytest.mark.parametrize("name", PAGES)
def test_page_code_runs(name, run_page, python_blocks):
    assert "assert " in "\n".join(python_blocks(DOCS / name)), f"{name} checks nothing"
    run_page(DOCS / name)
