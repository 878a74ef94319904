"""The NIR and Tonic page of the documentation site runs (its blocks assert a NIR round trip with identical
spikes, the refusal of reset by subtraction, and Tonic frames in the time-first layout).

Skipped without the ``nir`` and ``tonic`` extras; CI installs both."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("nir", reason="the nir extra is not installed (pip install -e '.[nir]')")
pytest.importorskip("tonic", reason="the tonic extra is not installed (pip install -e '.[tonic]')")


def test_the_interop_page_runs(run_page, tmp_path):
    namespace = run_page(Path(__file__).resolve().parents[2] / "docs" / "interop.md")
    assert (tmp_path / "digits.nir").is_file()
    assert namespace["agreement"].matching < 1.0  # the approximate export really differs from subtraction
