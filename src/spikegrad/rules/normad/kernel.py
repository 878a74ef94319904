r"""Double-exponential synaptic kernel and the membrane-response traces built from it.

A presynaptic spike train :math:`s_j(t)=\sum_k \delta(t-t_j^k)` drives the synaptic trace

.. math:: c_j(t) = (\kappa * s_j)(t),\qquad \kappa(t) = \big(e^{-t/\tau_1} - e^{-t/\tau_2}\big)\,H(t)

(dimensionless; :math:`\tau_1 = 5` ms, :math:`\tau_2 = 1.25` ms; peak 0.47247 at 2.3105 ms), kept as
its two exponential parts ``slow`` (:math:`\tau_1`) and ``fast`` (:math:`\tau_2`). A synapse of weight
:math:`w_j` (pA) injects :math:`I_j = w_j c_j`. The response of a membrane with time constant
:math:`\tau` and capacitance :math:`C` to one unit of trace,

.. math:: d_j(t) = (c_j * h_\tau)(t),\qquad h_\tau(t) = \tfrac{1}{C} e^{-t/\tau} H(t)

(mV per pA), is computed *exactly* at the grid points :math:`t_n = n\,dt`: between grid points the
trace parts are pure exponentials, so one step is

.. math:: d_{n+1} = e^{-dt/\tau} d_n + \big(b(\tau_1)\,c^{slow}_n - b(\tau_2)\,c^{fast}_n\big)/C,\qquad
          b(\tau_x) = \int_0^{dt} e^{-(dt-u)/\tau} e^{-u/\tau_x}\,du .

With :math:`\tau = \tau_L = C/g_L` this is the LIF membrane's free response (the neuron's drive); with
NormAD's :math:`\tau_L'` it is the approximate gradient :math:`\hat d` of the rule. Spikes are on the
grid: a spike in step ``n`` arrives at :math:`t_n`.
"""

from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple

import torch

from spikegrad.errors import ConfigError
from spikegrad.functional.recursive_filter import exponential_filter
from spikegrad.types import check_time_first


@dataclasses.dataclass(frozen=True)
class DoubleExponentialKernel:
    r"""Synaptic kernel :math:`\kappa(t) = e^{-t/\tau_1} - e^{-t/\tau_2}` for :math:`t \ge 0` (ms), unnormalized."""

    tau1_ms: float = 5.0
    tau2_ms: float = 1.25

    def __post_init__(self) -> None:
        if not (math.isfinite(self.tau1_ms) and self.tau1_ms > self.tau2_ms > 0):
            raise ConfigError("kernel", f"need tau1_ms > tau2_ms > 0, got {self.tau1_ms!r}, {self.tau2_ms!r}")

    def value(self, t_ms: torch.Tensor) -> torch.Tensor:
        """:math:`\\kappa(t)` at times ``t_ms`` (ms); zero for ``t < 0``."""
        t = t_ms.clamp(min=0.0)
        return torch.where(t_ms >= 0, torch.exp(-t / self.tau1_ms) - torch.exp(-t / self.tau2_ms), 0.0)

    @property
    def peak_ms(self) -> float:
        r""":math:`t^* = \frac{\tau_1\tau_2}{\tau_1-\tau_2}\ln\frac{\tau_1}{\tau_2}` (ms), where :math:`\kappa` peaks."""
        tau1, tau2 = self.tau1_ms, self.tau2_ms
        return tau1 * tau2 / (tau1 - tau2) * math.log(tau1 / tau2)


class SynapticTraces(NamedTuple):
    """Exponential parts of :math:`c = \\kappa * s` on the grid, each ``[T, B, n]`` (dimensionless)."""

    slow: torch.Tensor  # sum_k exp(-(t_n - t_k) / tau1) over spikes t_k <= t_n
    fast: torch.Tensor  # the same with tau2

    @property
    def kappa(self) -> torch.Tensor:
        """The trace :math:`c(t_n) = c^{slow}_n - c^{fast}_n`; the synaptic current is ``kappa @ W.T`` (pA)."""
        return self.slow - self.fast


def synaptic_traces(spikes: torch.Tensor, kernel: DoubleExponentialKernel, dt_ms: float) -> SynapticTraces:
    """Traces of 0/1 spike trains ``spikes[T, B, n]`` (grid step ``dt_ms``), starting from no past spikes."""
    check_time_first(spikes, "spikes")
    if not dt_ms > 0:
        raise ConfigError("dt_ms", f"time step must be > 0 ms, got {dt_ms!r}")
    return SynapticTraces(
        slow=exponential_filter(spikes, math.exp(-dt_ms / kernel.tau1_ms)),
        fast=exponential_filter(spikes, math.exp(-dt_ms / kernel.tau2_ms)),
    )


def _step_integral(tau_part_ms: float, tau_ms: float, dt_ms: float) -> float:
    r""":math:`\int_0^{dt} e^{-(dt-u)/\tau} e^{-u/\tau_x} du` (ms), stable for :math:`\tau_x = \tau`."""
    x = dt_ms * (1.0 / tau_ms - 1.0 / tau_part_ms)
    return math.exp(-dt_ms / tau_ms) * dt_ms * (math.expm1(x) / x if x != 0.0 else 1.0)


def response_increment(
    traces: SynapticTraces, kernel: DoubleExponentialKernel, tau_ms: float, capacitance_pf: float, dt_ms: float
) -> torch.Tensor:
    r"""Per-step input of the response filter, :math:`(b(\tau_1) c^{slow}_{n-1} - b(\tau_2) c^{fast}_{n-1})/C`.

    ``[T, B, n]`` in mV per pA; zero at ``n = 0``. Multiplied by the weights it is the LIF drive per step.
    """
    if not tau_ms > 0:
        raise ConfigError("tau_ms", f"membrane time constant must be > 0 ms, got {tau_ms!r}")
    b_slow = _step_integral(kernel.tau1_ms, tau_ms, dt_ms)
    b_fast = _step_integral(kernel.tau2_ms, tau_ms, dt_ms)
    increment = (b_slow * traces.slow - b_fast * traces.fast) / capacitance_pf
    return torch.cat([torch.zeros_like(increment[:1]), increment[:-1]])


def membrane_response(
    traces: SynapticTraces, kernel: DoubleExponentialKernel, tau_ms: float, capacitance_pf: float, dt_ms: float
) -> torch.Tensor:
    r""":math:`d(t_n) = (c * h_\tau)(t_n)`, ``[T, B, n]`` in mV per pA, exact at the grid points."""
    increment = response_increment(traces, kernel, tau_ms, capacitance_pf, dt_ms)
    return exponential_filter(increment, math.exp(-dt_ms / tau_ms))
