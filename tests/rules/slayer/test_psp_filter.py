"""PSP filter: FIR reference, exact IIR form, adjoint pair (oracle A8.2, A8.9 last-bin property)."""

import pytest
import torch

from spikegrad.errors import ShapeError
from spikegrad.functional.alpha_kernel import AlphaKernel
from spikegrad.functional.psp import (
    FilterMethod,
    fir_correlate,
    fir_filter,
    psp,
    psp_adjoint,
)
from spikegrad.rules.slayer.srm import SRMParameters

METHODS = list(FilterMethod)


def _weighted_spikes(steps, *shape, seed=0, dtype=torch.float32):
    gen = torch.Generator().manual_seed(seed)
    mask = torch.rand(steps, *shape, generator=gen) < 0.1
    return (mask * torch.randn(steps, *shape, generator=gen)).to(dtype)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("ts", [1.0, 0.1])
def test_one_spike_gives_the_sampled_kernel(method, ts):
    kernel = SRMParameters(tau_sr=1.0, ts=ts).srm_kernel
    x = torch.zeros(200, 1, 1)
    x[13] = 1.0  # a 0/1 spike: amplitude 1/Ts in the original's units
    y = psp(x, kernel, method)[:, 0, 0]
    assert torch.all(y[:13] == 0)
    torch.testing.assert_close(y[13 : 13 + kernel.length], kernel.tensor(), atol=1e-6, rtol=1e-5)
    assert y[13 + kernel.length :].abs().max() < 1e-6


@pytest.mark.parametrize("method", METHODS)
def test_gradient_oracle(method):
    kernel = SRMParameters(tau_sr=10.0, ts=1.0).srm_kernel
    x = torch.zeros(30, 1, requires_grad=True)
    upstream = torch.zeros(30, 1)
    upstream[20] = 1.0
    psp(x, kernel, method).backward(upstream)
    assert x.grad[10, 0].item() == pytest.approx(1.0)  # eps[10] * Ts
    assert x.grad[20, 0].item() == 0.0  # eps[0]
    assert torch.all(x.grad[21:] == 0)


def test_original_units():
    # slayerPytorch: a = Ts * sum_k eps[k] s[n-k] on spikes of amplitude 1/Ts; ours takes x = Ts * s.
    params = SRMParameters(tau_sr=1.0, ts=0.1)
    eps = params.srm_kernel.tensor(torch.float64)
    s = _weighted_spikes(60, 3, dtype=torch.float64) / params.ts
    original = torch.stack([params.ts * sum(eps[k] * s[n - k] for k in range(min(n + 1, len(eps)))) for n in range(60)])
    torch.testing.assert_close(psp(s * params.ts, params.srm_kernel), original)


@pytest.mark.parametrize("steps", [1, 2, 30, 76, 77, 78, 400])
@pytest.mark.parametrize(("tau", "ts"), [(10.0, 1.0), (1.0, 0.1), (2.5, 1.0)])
def test_iir_equals_fir_to_float32_precision(steps, tau, ts):
    kernel = AlphaKernel(tau, ts)
    x = _weighted_spikes(steps, 4, 5, seed=steps)
    fir, iir = psp(x, kernel, FilterMethod.FIR), psp(x, kernel, FilterMethod.IIR)
    scale = fir.abs().max().clamp(min=1.0)
    assert (iir - fir).abs().max() <= 2e-6 * scale
    g = _weighted_spikes(steps, 4, 5, seed=steps + 1)
    fir_back, iir_back = psp_adjoint(g, kernel, FilterMethod.FIR), psp_adjoint(g, kernel, FilterMethod.IIR)
    assert (iir_back - fir_back).abs().max() <= 2e-6 * fir_back.abs().max().clamp(min=1.0)


def test_iir_equals_fir_in_float64():
    kernel = AlphaKernel(4.0, 1.0, scale=-3.0, epsilon=1e-3)
    x = _weighted_spikes(300, 7, dtype=torch.float64)
    torch.testing.assert_close(psp(x, kernel, FilterMethod.IIR), psp(x, kernel, FilterMethod.FIR), rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize("method", METHODS)
def test_adjoint_identity(method):
    kernel = AlphaKernel(3.0, 1.0)
    x, g = _weighted_spikes(90, 2, 3, dtype=torch.float64), torch.randn(90, 2, 3, dtype=torch.float64)
    lhs = (psp(x, kernel, method) * g).sum()
    rhs = (x * psp_adjoint(g, kernel, method)).sum()
    assert lhs.item() == pytest.approx(rhs.item(), rel=1e-12)


@pytest.mark.parametrize("method", METHODS)
def test_autograd_backward_is_the_correlation(method):
    kernel = AlphaKernel(5.0, 1.0)
    x = torch.randn(50, 3, requires_grad=True)
    g = torch.randn(50, 3)
    psp(x, kernel, method).backward(g)
    direct = torch.stack([sum(kernel.values[k] * g[n + k] for k in range(min(kernel.length, 50 - n))) for n in range(50)])
    torch.testing.assert_close(x.grad, direct.float(), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("method", METHODS)
def test_gradcheck_float64(method):
    kernel = AlphaKernel(2.0, 1.0)  # K = 23 taps < T = 40: the IIR subtracts its tail
    x = torch.randn(40, 2, dtype=torch.float64, requires_grad=True)
    assert kernel.length < 40
    assert torch.autograd.gradcheck(lambda v: psp(v, kernel, method), (x,))
    assert torch.autograd.gradcheck(lambda v: psp_adjoint(v, kernel, method), (x,))
    assert torch.autograd.gradgradcheck(lambda v: psp(v, kernel, method), (x[:, :1].detach().requires_grad_(),))


def test_fir_with_any_kernel():
    h = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64)
    x = torch.randn(10, 2, dtype=torch.float64, requires_grad=True)
    expected = torch.stack([sum(h[k] * x[n - k] for k in range(3) if n - k >= 0) for n in range(10)])
    torch.testing.assert_close(fir_filter(x, h), expected)
    g = torch.randn(10, 2, dtype=torch.float64)
    assert (fir_filter(x, h) * g).sum().item() == pytest.approx((x * fir_correlate(g, h)).sum().item())
    assert torch.autograd.gradcheck(lambda v: fir_filter(v, h), (x,))


@pytest.mark.parametrize("method", METHODS)
def test_last_bin_gets_zero_gradient(method):
    x = torch.zeros(120, 4, requires_grad=True)
    psp(x, SRMParameters().srm_kernel, method).backward(torch.randn(120, 4))
    assert torch.all(x.grad[-1] == 0)
    assert torch.all(x.grad[-2] != 0)


def test_bad_shapes_raise():
    kernel = AlphaKernel(1.0, 1.0)
    with pytest.raises(ShapeError):
        psp(torch.zeros(0, 3), kernel)
    with pytest.raises(ShapeError):
        fir_filter(torch.zeros(5, 3), torch.zeros(2, 2))
