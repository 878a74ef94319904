"""A griffe extension for the documentation site: spikegrad's docstrings use a few reStructuredText
constructs (Sphinx roles, ``.. math::`` and simple tables) that mkdocstrings' Markdown would show raw.

Before each docstring is parsed it is rewritten (the source files are not touched):

- ``:math:`x``` becomes ``$x$`` and a ``.. math::`` directive a ``$$ ... $$`` block (pymdownx.arithmatex),
  with ``aligned`` around rows that use ``&`` or ``\\\\``;
- ``:class:`~a.b.C``` (and ``:func:``, ``:meth:``, ``:mod:``, ``:data:``, ``:attr:``, ``:exc:``, ``:obj:``)
  becomes code, ```C``` with ``~`` and ```a.b.C``` without;
- a simple table (``====  ====`` borders) is shown as preformatted text.

Loaded by mkdocs.yml (``extensions`` of the python handler); tested in tests/docs/test_rst_docstrings.py.
"""

from __future__ import annotations

import re
from typing import Any

try:  # griffe is only there with the docs extra; the conversion itself needs nothing
    from griffe import Extension
except ImportError:  # pragma: no cover - the site build needs griffe, the unit test does not
    Extension = object  # type: ignore[assignment,misc]

ROLE = re.compile(r":(?:class|func|meth|mod|data|attr|exc|obj):`(~?)([^`]+)`")
MATH_ROLE = re.compile(r":math:`([^`]+)`")
DIRECTIVE = re.compile(r"^(\s*)\.\. math::\s*(.*)$")
TABLE_BORDER = re.compile(r"^\s*=+(\s+=+)+\s*$")


def _role(match: re.Match) -> str:
    short, target = match.group(1), match.group(2)
    return f"`{target.rsplit('.', 1)[-1] if short else target}`"


def _math_block(indent: str, lines: list[str]) -> list[str]:
    body = " ".join(line.strip() for line in lines if line.strip())
    if "&" in body or r"\\" in body:
        body = rf"\begin{{aligned}} {body} \end{{aligned}}"
    return [f"{indent}$$", f"{indent}{body}", f"{indent}$$"]


def rst_to_markdown(text: str) -> str:
    """``text`` with the reStructuredText constructs above turned into Markdown."""
    lines = text.split("\n")
    out: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        directive = DIRECTIVE.match(line)
        if directive:
            indent, body = directive.groups()
            block = [body] if body else []
            index += 1
            while index < len(lines) and (not lines[index].strip() and not block or
                                          lines[index].strip() and len(lines[index]) - len(lines[index].lstrip()) > len(indent)):
                block.append(lines[index])
                index += 1
            out += _math_block(indent, block)
            continue
        if TABLE_BORDER.match(line):
            indent = line[: len(line) - len(line.lstrip())]
            table, borders = [], 0
            while index < len(lines) and borders < 3 and lines[index].strip():
                borders += bool(TABLE_BORDER.match(lines[index]))
                table.append(lines[index])
                index += 1
            out += [f"{indent}```text", *table, f"{indent}```"]
            continue
        out.append(line)
        index += 1
    converted = "\n".join(out)
    converted = MATH_ROLE.sub(lambda m: f"${m.group(1)}$", converted)
    return ROLE.sub(_role, converted)


class RstDocstrings(Extension):  # type: ignore[misc,valid-type]
    """Rewrite every docstring with :func:`rst_to_markdown` before mkdocstrings parses it."""

    def on_instance(self, *, obj: Any, **kwargs: Any) -> None:
        if getattr(obj, "docstring", None) is not None:
            obj.docstring.value = rst_to_markdown(obj.docstring.value)
