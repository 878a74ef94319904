"""The Triton twin of each spike-derivative estimator equals the estimator's own ``derivative``."""

from __future__ import annotations

import pytest
import torch

from spikegrad.grad import ATan, ExponentialPDF, FastSigmoid, Sigmoid, Smooth, StraightThrough, Triangle

triton = pytest.importorskip("triton", reason="triton is not installed: the kernels cannot run (pip install triton)")
tl = pytest.importorskip("triton.language")
surrogates = pytest.importorskip("spikegrad.kernels.surrogates")

pytestmark = pytest.mark.usefixtures("triton_kernels", "poisoned_memory")

ESTIMATORS = [FastSigmoid(), FastSigmoid(slope=3.0), ATan(), ATan(alpha=0.7), Sigmoid(), Sigmoid(alpha=9.0),
              Triangle(), Triangle(width=0.4, height=2.5), StraightThrough(), StraightThrough(width=0.3),
              ExponentialPDF(), ExponentialPDF.from_slayer(tau_rho=1.0, scale_rho=1.0, theta=10.0)]


derivative = surrogates.derivative


@triton.jit
def _apply(x_ptr, out_ptr, n, p0, p1, KIND: tl.constexpr, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    tl.store(out_ptr + offs, derivative(tl.load(x_ptr + offs, mask=mask), KIND, p0, p1), mask=mask)


def _kernel_derivative(x, estimator):
    kind, p0, p1 = surrogates.estimator_code(estimator)
    out = torch.empty_like(x)
    _apply[(triton.cdiv(x.numel(), 64),)](x, out, x.numel(), p0, p1, KIND=kind, BLOCK=64)
    return out


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=repr)
def test_kernel_derivative_equals_the_estimator(estimator):
    x = torch.cat([torch.linspace(-3.0, 3.0, 121), torch.randn(50) * 2, torch.tensor([0.0, -0.15, 0.15, 0.5])])
    torch.testing.assert_close(_kernel_derivative(x, estimator), estimator.derivative(x), rtol=2e-6, atol=1e-7)


def test_only_the_catalogue_classes_have_a_code():
    estimator_code = surrogates.estimator_code

    class Steeper(FastSigmoid):
        def derivative(self, x):
            return 2 * super().derivative(x)

    assert estimator_code(Smooth(ATan())) is None and estimator_code(Steeper()) is None
    assert len({estimator_code(type(e)())[0] for e in ESTIMATORS}) == 6
