"""The fused Triton scans of the IIR alpha filter against the reference, under Triton's interpreter."""

from __future__ import annotations

import pytest
import torch

from spikegrad.functional.alpha_kernel import AlphaKernel
from spikegrad.functional.psp import alpha_recursion, psp, psp_adjoint
from spikegrad.kernels import use_backend

pytestmark = pytest.mark.usefixtures("triton_kernels", "poisoned_memory")

KERNELS = [AlphaKernel(tau=2.0, ts=1.0), AlphaKernel(tau=1.0, ts=0.5, scale=-3.0), AlphaKernel(tau=9.0, ts=1.0)]


@pytest.mark.parametrize("adjoint", [False, True])
@pytest.mark.parametrize("shape", [(1, 3, 5), (9, 2, 7), (4, 1, 131)], ids=str)
def test_scans_match_the_reference(shape, adjoint):
    x = torch.randn(shape)
    with use_backend("triton"):
        e, w = _dispatched(x, 0.8, adjoint)
    ref_e, ref_w = alpha_recursion(x, 0.8, adjoint)
    torch.testing.assert_close(e, ref_e, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(w, ref_w, rtol=1e-5, atol=1e-6)


def _dispatched(x, decay, adjoint):
    from spikegrad.kernels import kernel_for

    return kernel_for("alpha_recursion", x, decay, adjoint)(x, decay, adjoint)


@pytest.mark.parametrize("kernel", KERNELS, ids=lambda k: f"tau{k.tau}-ts{k.ts}-K{k.length}")
@pytest.mark.parametrize("op", [psp, psp_adjoint], ids=lambda f: f.__name__)
def test_filter_and_gradient_match_the_reference(op, kernel):
    """Forward and backward (the backward of each is the other): kernel lengths below and above T."""
    x = (torch.rand(11, 3, 5) < 0.3) * torch.randn(11, 3, 5)
    g = torch.randn(11, 3, 5)
    results = []
    for backend in ("reference", "triton"):
        leaf = x.clone().requires_grad_()
        with use_backend(backend):
            y = op(leaf, kernel)
            (grad,) = torch.autograd.grad((y * g).sum(), leaf)
        results.append((y.detach(), grad))
    (ref_y, ref_grad), (ker_y, ker_grad) = results
    assert ker_y.isfinite().all() and ker_grad.isfinite().all()
    torch.testing.assert_close(ker_y, ref_y, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(ker_grad, ref_grad, rtol=1e-5, atol=1e-6)


def test_the_custom_op_passes_opcheck():
    from spikegrad.kernels.alpha_recursion import alpha_recursion_op

    torch.library.opcheck(alpha_recursion_op, (torch.randn(6, 2, 3), 0.7, True))
