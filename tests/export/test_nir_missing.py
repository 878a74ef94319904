"""Without the nir extra, the export functions say how to install it (this test runs without nir too)."""

from __future__ import annotations

import sys

import pytest

from spikegrad.errors import ExportError
from spikegrad.export import from_nir, to_nir
from spikegrad.functional.neuron import Reset
from spikegrad.nn import LIF, Dense, SNNSequential


def test_missing_nir_package_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "nir", None)  # `import nir` now raises ImportError
    with pytest.raises(ExportError, match=r"spikegrad\[nir\]"):
        to_nir(SNNSequential(Dense(2, 2), LIF(reset=Reset.ZERO)))
    with pytest.raises(ExportError, match=r"spikegrad\[nir\]"):
        from_nir("model.nir")
