"""The documentation site's docstring conversion (docs_tools/rst_docstrings.py): Sphinx roles, math and
simple tables become Markdown the site renders, and plain text passes unchanged."""

from __future__ import annotations

import importlib.util
from pathlib import Path

TOOL = Path(__file__).resolve().parents[2] / "docs_tools" / "rst_docstrings.py"
spec = importlib.util.spec_from_file_location("rst_docstrings", TOOL)
rst_docstrings = importlib.util.module_from_spec(spec)
spec.loader.exec_module(rst_docstrings)
convert = rst_docstrings.rst_to_markdown


def test_roles_become_code_and_inline_math():
    text = "See :class:`~spikegrad.nn.LIF`, :func:`spikegrad.functional.neuron_scan` and :math:`\\beta = 1`."
    assert convert(text) == "See `LIF`, `spikegrad.functional.neuron_scan` and $\\beta = 1$."


def test_math_directive_becomes_a_display_block_keeping_its_indent():
    text = "Forward:\n\n  .. math:: a = b,\\qquad\n          c = d\n\n  Then more."
    assert convert(text) == "Forward:\n\n  $$\n  a = b,\\qquad c = d\n  $$\n\n  Then more."


def test_aligned_rows_get_an_aligned_environment():
    text = ".. math::\n    x &= 1\\\\\n    y &= 2\n\nafter"
    assert convert(text) == "$$\n\\begin{aligned} x &= 1\\\\ y &= 2 \\end{aligned}\n$$\n\nafter"


def test_simple_table_is_preformatted():
    table = "====  ====\na     b\n====  ====\n1     2\n====  ====\n"
    assert convert("Table:\n\n" + table + "\nafter") == "Table:\n\n```text\n" + table + "```\n\nafter"


def test_plain_text_passes_unchanged():
    text = "Args:\n    x: input ``[T, B, ...]``, time first.\n\nReturns:\n    The spikes."
    assert convert(text) == text
