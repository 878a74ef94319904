"""Kernel tests run Triton's interpreter on CPU tensors: ``TRITON_INTERPRET=1`` is set here, before any kernel
module is imported (Triton reads it when a kernel is decorated), and empty tensors are poisoned with NaN so a
kernel that leaves an output element unwritten fails the comparison with the reference."""

from __future__ import annotations

import os

import pytest
import torch

os.environ["TRITON_INTERPRET"] = "1"


@pytest.fixture
def triton_kernels():
    """Force the Triton kernels (on CPU tensors: the interpreter); skip when Triton cannot be imported."""
    pytest.importorskip("triton", reason="triton is not installed: the kernels cannot run (pip install triton)")
    from spikegrad.kernels import use_backend

    with use_backend("triton"):
        yield


@pytest.fixture
def poisoned_memory():
    """``torch.empty`` fills floats with NaN (deterministic mode), so unwritten outputs show up as NaN."""
    before = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    assert torch.empty(4).isnan().all(), "uninitialised memory is not poisoned: the test could not catch gaps"
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before)
