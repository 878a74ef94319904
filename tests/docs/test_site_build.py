"""The documentation site builds in strict mode (every link, snippet include and API reference resolves).

Skipped without the docs extra (``pip install -e ".[docs]"``); CI installs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mkdocs", reason="the docs extra is not installed (pip install -e '.[docs]')")
pytest.importorskip("mkdocstrings", reason="the docs extra is not installed (pip install -e '.[docs]')")

ROOT = Path(__file__).resolve().parents[2]


def test_the_site_builds_in_strict_mode(tmp_path):
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    compare = (tmp_path / "compare" / "index.html").read_text()
    assert "0.9778" in compare and "--8&lt;--" not in compare  # README's table included, not its marker
    functional = (tmp_path / "api" / "functional" / "index.html").read_text()
    assert "neuron_scan" in functional and "LIFParameters" in functional  # the reference is generated
    for package in ("core", "grad", "nn", "losses", "encoding", "data", "rules", "slayer", "lee", "na", "normad",
                    "train", "export", "analysis"):
        page = (tmp_path / "api" / package / "index.html").read_text()
        assert 'class="doc doc-heading"' in page, package
        assert ":class:`" not in page and ".. math::" not in page, package  # docs_tools/rst_docstrings.py ran
    results = (tmp_path / "benchmarks" / "index.html").read_text()
    assert "--8&lt;--" not in results and "Linear+LIF MLP on the CPU" in results  # benchmarks/RESULTS.md included
