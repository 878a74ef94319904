r"""Lee et al. (2020) leak-corrected pseudo-derivative of the LIF activation, and its spike gate.

Paper: C. Lee, S. S. Sarwar, P. Panda, G. Srinivasan, K. Roy, "Enabling Spike-Based Backpropagation for
Training Deep Neural Network Architectures", Front. Neurosci. 14:119 (2020), §2.2.1.2 "pseudo derivative
of LIF neuronal activation with respect to total input current". Reference code:
``chan8972/Enabling_Spikebased_Backpropagation`` (``grad_cal``, ``LF_Unit``, ``SpikingNN``).

The activation of a neuron is its spike count :math:`a` over a window of :math:`T` steps and its input
is the total current :math:`net = \sum_t I[t]`. For an IF neuron :math:`V_{th}\,a \approx net`, so
:math:`\partial a/\partial net = 1/V_{th}`. A leaky neuron loses charge; estimating the leak's derivative
from the neuron's *own output spike train* gives

.. math::
    \frac{\partial a}{\partial net} \approx \frac{NG}{V_{th}},\qquad
    NG = \mathbb 1[LF > \epsilon] + \ln\lambda\,\frac{LF}{\gamma'},\qquad
    LF = \sum_{t=1}^{T}\lambda^{T-t}s[t],\quad \gamma = \sum_t s[t],\quad \gamma' = \gamma + \mathbb 1[\gamma<\epsilon]

with :math:`\lambda` the per-step leak factor (:math:`\lambda = e^{-1/\tau_m}`, so
:math:`\ln\lambda = -1/\tau_m`) and :math:`\epsilon = 10^{-3}` as in the code. In the paper's notation
:math:`NG = 1 + \frac{1}{\gamma}\sum_k(-\frac{1}{\tau_m})e^{-(T-t_k)/\tau_m}` with :math:`t_k` the output spike
times: the correction is < 1, smaller (further from 1) for neurons whose spikes are many and recent, and
**0 for a silent neuron**, which therefore receives no gradient at all (the dead-neuron trap: an
initialisation must make every layer fire). It is evaluated **once, at the end of the window**.

Spike values are used as given: under the original VGG9's inverted dropout a kept spike is worth
1/(1-p); the ratio :math:`LF/\gamma` does not change, and a dropped neuron gets :math:`NG = 0`.

This module holds the formula only. How the factor enters the backward pass (the original code's
spike-gated BPTT path, or the paper's once-per-window rate formula) is :mod:`spikegrad.rules.lee.scan`.
"""

from __future__ import annotations

import dataclasses
import math

import torch

from spikegrad.errors import ConfigError, ShapeError
from spikegrad.grad.base import SpikeEstimator, heaviside

EPSILON = 1e-3
"""The reference code's guard for "no spike": ``LF > 1e-3`` and ``gamma < 1e-3``."""


def leaky_spike_trace(spikes: torch.Tensor, leak: float) -> torch.Tensor:
    r"""``LF = sum_t leak**(T-t) s[t]`` over the window (``t = 1..T``), for ``spikes[T, ...]``.

    Equals the reference code's running trace ``LF = leak * LF + s`` after the last step. Returns a
    tensor of shape ``spikes.shape[1:]`` in the spikes' dtype.
    """
    if spikes.dim() < 1 or spikes.shape[0] < 1:
        raise ShapeError("spikes", "[T, ...] with T >= 1", tuple(spikes.shape))
    steps = spikes.shape[0]
    powers = torch.arange(steps - 1, -1, -1, device=spikes.device, dtype=torch.float64)
    weights = torch.pow(torch.tensor(float(leak), dtype=torch.float64), powers).to(spikes.dtype)
    return torch.tensordot(weights, spikes, dims=1)


def leak_correction(spikes: torch.Tensor, leak: float, eps: float = EPSILON) -> torch.Tensor:
    r"""The correction factor ``NG`` of each neuron from its output spike train ``spikes[T, ...]``.

    ``NG = 1[LF > eps] + ln(leak) * LF / gamma'`` (see the module docstring); shape ``spikes.shape[1:]``.
    ``leak = 1`` (IF) gives ``NG = 1`` for a neuron that fired and 0 for a silent one.

    Example (oracle A12.2): ``leak = 0.9``, spikes at steps 2 and 4 of 4: ``LF = 0.81 + 1 = 1.81``,
    ``gamma = 2``, ``NG = 1 + ln(0.9) * 1.81 / 2 = 0.904649``.
    """
    _check_leak(leak)
    trace = leaky_spike_trace(spikes, leak)
    count = spikes.sum(0)
    count = count + (count < eps).to(count.dtype)
    return (trace > eps).to(trace.dtype) + math.log(leak) * trace / count


def _check_leak(leak: float) -> None:
    if not 0.0 < leak <= 1.0:
        raise ConfigError("leak", f"the per-step leak factor must lie in (0, 1], got {leak!r}")


@dataclasses.dataclass(frozen=True)
class LeakCorrectedDerivative:
    r"""Lee et al.'s pseudo-derivative ``da/dnet = NG / threshold``, one value per neuron and window.

    Args:
        leak: the neuron's per-step leak factor :math:`\lambda` in (0, 1] (0.99 in every original script).
        threshold: the :math:`V_{th}` that divides the gradient. For LIF layers this is the firing
            threshold (1 in the code). The original pooling neurons fire at 0.75 but their gradient is
            not scaled (no ``1/V_th``, no correction): use ``LeakCorrectedDerivative(leak=1.0,
            threshold=1.0)``, which is 1 for a pooling neuron that fired and 0 otherwise.
        eps: the "no spike" guard of the code (1e-3).
    """

    leak: float = 0.99
    threshold: float = 1.0
    eps: float = EPSILON

    def __post_init__(self) -> None:
        _check_leak(self.leak)
        if not (math.isfinite(self.threshold) and self.threshold > 0):
            raise ConfigError("threshold", f"must be a finite number > 0, got {self.threshold!r}")

    def correction(self, spikes: torch.Tensor) -> torch.Tensor:
        """``NG`` per neuron for ``spikes[T, ...]`` (see :func:`leak_correction`)."""
        return leak_correction(spikes, self.leak, self.eps)

    def derivative(self, spikes: torch.Tensor) -> torch.Tensor:
        """``NG / threshold`` per neuron: the gain applied to the gradient of each output spike."""
        return self.correction(spikes) / self.threshold


@dataclasses.dataclass(frozen=True)
class SpikeGated(SpikeEstimator):
    r"""The original code's spike function: strict Heaviside forward, gradient passed only where it fired.

    ``s = H(x)`` with ``H(0) = 0`` (the code fires on ``v > threshold``; e.g. a pooling neuron at exactly
    0.75 stays silent), and ``ds/dx = H(x)``: the incoming gradient passes unchanged at steps where the
    neuron spiked and is zeroed elsewhere (``SpikingNN.backward``). Primitive: ``max(x, 0)``.
    """

    def forward(self, x: torch.Tensor, strict: bool = True) -> torch.Tensor:
        return heaviside(x, strict=True)  # always strict, whatever the neuron asks

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        return heaviside(x, strict=True)

    def primitive(self, x: torch.Tensor) -> torch.Tensor:
        return torch.clamp(x, min=0.0)
