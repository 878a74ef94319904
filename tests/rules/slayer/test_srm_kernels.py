"""SRM kernels and SLAYER's surrogate: oracles A8.1 and A8.4, and the original's MATLAB kernel files."""

import numpy as np
import pytest
import torch

from spikegrad.errors import ConfigError
from spikegrad.functional.alpha_kernel import AlphaKernel
from spikegrad.grad import ExponentialPDF
from spikegrad.rules.slayer.srm import SRMParameters

GOLDEN = dict(theta=10.0, tau_sr=1.0, tau_ref=1.0, scale_ref=2.0, ts=0.1)


def test_spike_response_kernel_oracle():
    eps = SRMParameters(tau_sr=10.0, ts=1.0).srm_kernel.values
    expected = [0, 0.24596, 0.44511, 0.60413, 0.72885, 0.82436, 0.89509, 0.94490, 0.97712, 0.99465, 1.0, 0.99532]
    np.testing.assert_allclose(eps[:12], expected, atol=5e-6)
    assert len(eps) == 77
    assert eps.sum() == pytest.approx(27.048, abs=5e-4)
    assert eps.argmax() == 10 and eps.max() == pytest.approx(1.0)


def test_refractory_kernel_oracle():
    nu = SRMParameters(theta=10.0, tau_ref=1.0, scale_ref=2.0, ts=1.0).refractory_kernel.values
    expected = [0, -20, -14.7152, -8.1201, -3.9830, -1.8316, -0.8086, -0.3470, -0.1459, -0.0604, -0.0247]
    np.testing.assert_allclose(nu, expected, atol=5e-5)


def test_lengths_at_small_step():
    assert SRMParameters(**GOLDEN).srm_kernel.length == 77
    assert SRMParameters(**GOLDEN).refractory_kernel.length == 110
    assert SRMParameters(**GOLDEN, full_ref_kernel=True).refractory_kernel.length == 160


@pytest.mark.parametrize(("name", "kernel"), [
    ("h_sr.txt", SRMParameters(**GOLDEN).srm_kernel),
    ("h_ref.txt", SRMParameters(**GOLDEN).refractory_kernel),
])
def test_kernels_equal_original_files(shared_data, name, kernel):
    table = np.loadtxt(shared_data / "slayer-reference" / name, comments="#")
    assert len(table) == kernel.length
    np.testing.assert_allclose(table[:, 0], 0.1 * np.arange(kernel.length), atol=5e-5)
    np.testing.assert_array_equal(np.round(kernel.values, 4), table[:, 1])


def test_alpha_closed_form_matches_samples():
    kernel = AlphaKernel(tau=3.0, ts=0.5, scale=-7.0, epsilon=1e-3)
    n = np.arange(kernel.length)
    np.testing.assert_allclose(kernel.values, kernel.gain * n * kernel.decay**n, rtol=1e-12)
    assert kernel.tensor(torch.float64).dtype == torch.float64


@pytest.mark.parametrize("field", ["theta", "tau_sr", "tau_ref", "tau_rho", "scale_rho", "ts"])
@pytest.mark.parametrize("value", [0.0, -1.0, float("nan"), float("inf")])
def test_invalid_parameters_raise(field, value):
    with pytest.raises(ConfigError, match=field):
        SRMParameters(**{field: value})


def test_negative_refractory_scale_raises():
    with pytest.raises(ConfigError, match="scale_ref"):
        SRMParameters(scale_ref=-1.0)


def test_surrogate_oracle():
    rho = SRMParameters(theta=10.0, tau_rho=1.0, scale_rho=1.0).estimator()
    centred = torch.tensor([0.0, -10.0, 10.0], dtype=torch.float64)  # u = theta, 0, 20
    np.testing.assert_allclose(rho.derivative(centred).numpy(), [0.1, 0.036788, 0.036788], atol=1e-6)
    grid = torch.linspace(-400, 400, 400_001, dtype=torch.float64)
    assert torch.trapezoid(rho.derivative(grid), grid).item() == pytest.approx(2.0, rel=1e-6)


def test_lava_dl_surrogate_in_our_units():
    # lava-dl CUBA: scale/(2 tau) exp(-|v - theta|/tau), tau = 100 * tau_grad * theta, scale = 0.1 * scale_grad
    tau, scale = 100 * 0.03 * 1.25, 0.1 * 3
    rho = ExponentialPDF(tau=tau, scale=scale / 2)
    assert tau == pytest.approx(3.75)
    assert rho.derivative(torch.tensor(0.0)).item() == pytest.approx(0.04)
