"""The backend registry: one dispatch point per op, the reference on CPU tensors unless kernels are forced."""

from __future__ import annotations

import pytest
import torch

from spikegrad.errors import ConfigError
from spikegrad.functional import LIFParameters
from spikegrad.grad import ATan
from spikegrad.kernels import Backend, current_backend, kernel_for, use_backend


def _call(x):
    return kernel_for("neuron_scan", x, x[0], None, LIFParameters(), ATan())


def test_cpu_tensors_get_the_reference_unless_kernels_are_forced():
    x = torch.randn(3, 2, 4)
    with use_backend(Backend.AUTO):
        assert _call(x) is None
    with use_backend("reference"):
        assert _call(x) is None


def test_forcing_picks_the_kernel(triton_kernels):
    from spikegrad.kernels import neuron_scan

    assert current_backend() is Backend.TRITON
    assert _call(torch.randn(3, 2, 4)) is neuron_scan.apply


def test_use_backend_restores_and_rejects_unknown_names():
    before = current_backend()
    with use_backend("reference"):
        assert current_backend() is Backend.REFERENCE
    assert current_backend() is before
    with pytest.raises(ConfigError, match="auto"), use_backend("cuda"):
        pass


def test_an_op_without_a_kernel_raises_when_forced():
    with use_backend("triton"), pytest.raises(ConfigError, match="no Triton kernel"):
        kernel_for("no_such_op", torch.randn(2, 2))
    with use_backend("auto"):
        assert kernel_for("no_such_op", torch.randn(2, 2)) is None
