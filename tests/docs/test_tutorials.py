"""Every tutorial of the documentation site runs: its ```python blocks are executed in order, in one
namespace per page, at the small sizes the page uses, and each page checks what it teaches."""

from __future__ import annotations

from pathlib import Path

import pytest

TUTORIALS = Path(__file__).resolve().parents[2] / "docs" / "tutorials"
RULES = {"bptt", "slayer", "lee", "na", "normad"}


def test_a_tutorial_per_rule_each_checking_its_result(python_blocks):
    pages = {page.stem: page for page in TUTORIALS.glob("*.md")}
    assert set(pages) >= RULES
    for name, page in pages.items():
        code = "\n".join(python_blocks(page))
        assert "assert " in code, f"tutorials/{name}.md checks nothing"  # a page that cannot fail teaches nothing
        assert "print(" in code, f"tutorials/{name}.md shows no result"


@pytest.mark.parametrize("page", sorted(TUTORIALS.glob("*.md")), ids=lambda page: page.stem)
def test_tutorial_runs(page, run_page):
    run_page(page)
