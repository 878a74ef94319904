r"""Continuous-time leaky integrate-and-fire neuron of the NormAD papers, integrated exactly on a grid.

.. math:: C\,\frac{dV}{dt} = -g_L\,(V - E_L) + I_{syn}(t)

with :math:`C = 300` pF, :math:`g_L = 30` nS (:math:`\tau_L = C/g_L = 10` ms), :math:`E_L = -70` mV and
threshold :math:`V_T = 20` mV. When :math:`V \ge V_T` the neuron spikes, :math:`V` is reset to
:math:`E_L` and held there for the refractory period :math:`R_p` (2 ms, the papers' value; the group's
code uses 3 ms). Units: ms, mV, pF, nS, pA (pA / pF = mV / ms, nS * mV = pA).

The state is :math:`v = V - E_L` (mV). Because the synaptic current is a sum of exponentials between
grid points, the free membrane obeys the exact one-step recursion
:math:`v_{n+1} = e^{-dt/\tau_L} v_n + \delta_{n+1}`, whose drive :math:`\delta` (mV per step, see
:func:`~spikegrad.rules.normad.kernel.response_increment`) is known for the whole sequence before the
scan. With spikes and resets:

.. math::
    u_n &= \begin{cases} e^{-dt/\tau_L} v_{n-1} + \delta_n & \text{if not refractory}\\ 0 & \text{otherwise}\end{cases}
    \qquad s_n = H(u_n - (V_T - E_L)),\qquad v_n = u_n (1 - s_n)

and after a spike in step ``n`` the neuron is refractory in steps ``n+1 .. n+R``,
:math:`R = \mathrm{round}(R_p / dt)`. Threshold crossings are detected at grid points, so spike times have
the resolution ``dt``. (The group's CUDA code integrates with Heun steps and clamps :math:`V \ge E_L`;
neither is part of the model, and neither is done here.)

*Scan by windows.* Neurons of a feed-forward layer do not interact and spikes are sparse, so instead of
``T`` tiny steps the scan advances every neuron from its own position to its own next spike: it filters a
window of the next ``WINDOW_STEPS`` drive values per neuron at once (the free response is linear,
:func:`~spikegrad.functional.recursive_filter.exponential_filter`), keeps each neuron's response up to its
first crossing, resets it and jumps over its refractory steps. The number of sequential iterations is
about the largest spike count of any neuron plus ``T / WINDOW_STEPS``, whatever the number of neurons
and batch; the numbers are those of the step recursion up to float rounding.
"""

from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple

import torch

from spikegrad.errors import ConfigError, ShapeError
from spikegrad.functional.recursive_filter import exponential_filter
from spikegrad.types import check_time_first


@dataclasses.dataclass(frozen=True)
class ContinuousLIFParameters:
    """Constants of the continuous LIF neuron (B1 of the spec), in explicit units."""

    capacitance_pf: float = 300.0
    leak_conductance_ns: float = 30.0
    rest_mv: float = -70.0
    threshold_mv: float = 20.0
    refractory_ms: float = 2.0

    def __post_init__(self) -> None:
        for name in ("capacitance_pf", "leak_conductance_ns"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ConfigError(name, f"must be a finite number > 0, got {value!r}")
        if not self.threshold_mv > self.rest_mv:
            raise ConfigError("threshold_mv", f"must exceed rest_mv={self.rest_mv!r}, got {self.threshold_mv!r}")
        if not self.refractory_ms >= 0:
            raise ConfigError("refractory_ms", f"must be >= 0 ms, got {self.refractory_ms!r}")

    @property
    def tau_ms(self) -> float:
        r"""Membrane time constant :math:`\tau_L = C / g_L` (pF / nS = ms)."""
        return self.capacitance_pf / self.leak_conductance_ns

    @property
    def gap_mv(self) -> float:
        """Distance from rest to threshold, :math:`V_T - E_L` (mV)."""
        return self.threshold_mv - self.rest_mv

    def refractory_steps(self, dt_ms: float) -> int:
        """Number of grid steps the membrane is held at rest after a spike."""
        if not dt_ms > 0:
            raise ConfigError("dt_ms", f"time step must be > 0 ms, got {dt_ms!r}")
        return round(self.refractory_ms / dt_ms)

    def slope(self, current_pa: torch.Tensor, potential_mv: float | torch.Tensor) -> torch.Tensor:
        r""":math:`dV/dt = (I - g_L (V - E_L)) / C` in mV/ms, for a current (pA) at a potential (mV)."""
        return (current_pa - self.leak_conductance_ns * (potential_mv - self.rest_mv)) / self.capacitance_pf


class ContinuousLIFState(NamedTuple):
    """State between steps, each ``[B, n]``: ``v_mv`` = V - E_L after reset, ``hold`` = refractory steps left."""

    v_mv: torch.Tensor
    hold: torch.Tensor


class ContinuousLIFOutput(NamedTuple):
    """Scan output: 0/1 ``spikes`` and the potential before reset ``membrane_mv`` (absolute, mV), ``[T, B, n]``."""

    spikes: torch.Tensor
    membrane_mv: torch.Tensor
    state: ContinuousLIFState


def rest_state(like: torch.Tensor) -> ContinuousLIFState:
    """Neurons at rest and not refractory, shaped like one step ``like[B, n]``."""
    return ContinuousLIFState(torch.zeros_like(like), torch.zeros_like(like))


WINDOW_STEPS = 64


def continuous_lif_scan(drive_mv: torch.Tensor, params: ContinuousLIFParameters, dt_ms: float, state: ContinuousLIFState | None = None) -> ContinuousLIFOutput:
    """Run the LIF over the per-step drive ``drive_mv[T, B, n]`` (mV; see the module docstring).

    Scanning ``drive[:k]`` and then ``drive[k:]`` from the carried state equals scanning ``drive``.
    """
    check_time_first(drive_mv, "drive_mv")
    state = rest_state(drive_mv[0]) if state is None else state
    if state.v_mv.shape != drive_mv.shape[1:] or state.hold.shape != drive_mv.shape[1:]:
        raise ShapeError("state", f"two tensors {list(drive_mv.shape[1:])}", f"{tuple(state.v_mv.shape)}")
    decay = math.exp(-dt_ms / params.tau_ms)
    refractory = params.refractory_steps(dt_ms)
    steps = drive_mv.shape[0]
    drive = drive_mv.reshape(steps, -1)
    column = torch.arange(drive.shape[1], device=drive.device)
    offsets = torch.arange(WINDOW_STEPS, device=drive.device)[:, None]
    membrane, spikes = torch.zeros_like(drive), torch.zeros_like(drive)  # refractory steps stay at rest
    position = state.hold.reshape(-1).round().long().clamp(min=0)  # next step each neuron integrates
    v = torch.where(position > 0, 0.0, state.v_mv.reshape(-1))
    while True:
        active = position < steps
        if not active.any():
            break
        index = position[None, :] + offsets
        inside = index < steps
        index = index.clamp(max=steps - 1)
        free = exponential_filter(drive.gather(0, index) * inside, decay, v)  # [WINDOW_STEPS, n] without reset
        crossed = (free >= params.gap_mv) & inside
        fired = crossed.any(0)
        last = torch.where(fired, crossed.to(torch.uint8).argmax(0), (steps - position).clamp(max=WINDOW_STEPS) - 1)
        keep = (offsets <= last) & inside
        membrane[index[keep], column.expand_as(index)[keep]] = free[keep]
        spikes[position[fired] + last[fired], column[fired]] = 1.0
        reached = free.gather(0, last.clamp(min=0)[None])[0]
        v = torch.where(fired, 0.0, torch.where(active, reached, v))
        position = torch.where(active, position + last + 1 + refractory * fired, position)
    hold = (position - steps).clamp(min=0).to(drive.dtype)
    shape = drive_mv.shape
    final = ContinuousLIFState(v.reshape(shape[1:]), hold.reshape(shape[1:]))
    return ContinuousLIFOutput(spikes.reshape(shape), membrane.reshape(shape) + params.rest_mv, final)
