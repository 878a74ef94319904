r"""The TSSL-BP / NA neuron: the shared LIF with NA's options, whose output is a first-order synaptic trace.

Per neuron and time step ``t`` (time in steps; Yang, Zhang & Li 2021, poster "Forward" panel, identical
to the TSSL-BP code):

.. math::
    u[t] &= \lambda\, v[t-1] + I[t], \qquad \lambda = 1 - 1/\tau_m \qquad\text{(membrane before reset)}\\
    s[t] &= H(u[t] - \vartheta) \qquad\qquad\qquad\;\; (H(0) = 0\text{: fires on a strict } u > \vartheta)\\
    v[t] &= u[t]\,(1 - s[t]) \qquad\qquad\qquad\;\;\; \text{(reset to zero)}\\
    a[t] &= a[t-1] + (s[t] - a[t-1]) / \tau_s \qquad \text{(post-synaptic current, the layer's output)}

The first three lines are the shared neuron of :mod:`spikegrad.functional.neuron` with options
(:attr:`NAParameters.neuron`: ``beta = 1 - 1/tau_m`` given directly, ``strict=True``, ``Reset.ZERO``);
the trace is the shared exponential filter (:func:`synaptic_trace`). The decays are the original code's
``1 - 1/tau`` (not ``exp(-1/tau)``); ``tau_m = 5, tau_s = 2`` give ``lambda = 0.8`` and a trace that
halves every step. What NA adds is only its backward pass (:mod:`spikegrad.rules.na.function`).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import NamedTuple

import torch

from spikegrad.errors import ConfigError, ShapeError
from spikegrad.functional.neuron import (
    IFParameters,
    LIFParameters,
    NeuronParameters,
    NeuronState,
    Reset,
    neuron_forward,
    step_forward,
)
from spikegrad.functional.recursive_filter import synaptic_trace as trace_filter


@dataclasses.dataclass(frozen=True)
class NAParameters:
    """Constants of the LIF + synaptic-trace neuron (time constants in time steps).

    Attributes:
        tau_m: membrane time constant; leak per step ``1 - 1/tau_m`` (>= 1; ``inf``: no leak, an IF neuron).
        tau_s: synaptic time constant; trace decay per step ``1 - 1/tau_s`` (>= 1).
        threshold: firing threshold (membrane units, > 0); the neuron fires when ``u > threshold``.
    """

    tau_m: float = 5.0
    tau_s: float = 2.0
    threshold: float = 1.0

    def __post_init__(self) -> None:
        if not (self.tau_m >= 1.0):  # inf allowed: no leak
            raise ConfigError("tau_m", f"time constant must be >= 1 (time steps, inf: no leak), got {self.tau_m!r}")
        if not (math.isfinite(self.tau_s) and self.tau_s >= 1.0):
            raise ConfigError("tau_s", f"time constant must be a finite number >= 1 (time steps), got {self.tau_s!r}")
        if not (math.isfinite(self.threshold) and self.threshold > 0):
            raise ConfigError("threshold", f"must be a finite number > 0, got {self.threshold!r}")

    @property
    def mem_decay(self) -> float:
        """lambda = 1 - 1/tau_m, the membrane's leak factor per step."""
        return 1.0 - 1.0 / self.tau_m

    @property
    def syn_decay(self) -> float:
        """1 - 1/tau_s, the synaptic trace's decay per step."""
        return 1.0 - 1.0 / self.tau_s

    @functools.cached_property
    def neuron(self) -> NeuronParameters:
        """The shared neuron with NA's options: decay ``1 - 1/tau_m`` (IF without leak), strict threshold,
        reset to zero."""
        if self.mem_decay >= 1.0:
            return IFParameters(threshold=self.threshold, reset=Reset.ZERO, strict=True)
        return LIFParameters(beta=self.mem_decay, threshold=self.threshold, reset=Reset.ZERO, strict=True)


class NAState(NamedTuple):
    """State between calls: membrane after reset ``v`` and synaptic trace ``a`` (tensors ``[B, ...]``)."""

    v: torch.Tensor
    a: torch.Tensor


class NAOutput(NamedTuple):
    """A forward pass over ``[T, B, ...]`` currents.

    ``trace``: the synaptic trace ``a`` (the layer's output); ``spikes``: 0/1; ``membrane``: the potential
    before reset ``u``; ``state``: the state after the last step.
    """

    trace: torch.Tensor
    spikes: torch.Tensor
    membrane: torch.Tensor
    state: NAState


def charge_fire_reset(
    v: torch.Tensor,
    current: torch.Tensor,
    params: NAParameters,
    out: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One membrane step of the shared neuron (:func:`~spikegrad.functional.neuron.step_forward`) with NA's
    options: ``(u, s, v_next)``. ``out`` optionally names three tensors to write them into (``v_next`` may
    be ``v`` itself, as in the neighbour re-simulation)."""
    u, s, state = step_forward(current, NeuronState(v), params.neuron, out=out or (None, None, None))
    return u, s, state.v


def synaptic_trace(x: torch.Tensor, params: NAParameters, a0: torch.Tensor | None = None) -> torch.Tensor:
    """The trace filter applied to any sequence ``x[T, ...]``: ``a[t] = a[t-1] + (x[t] - a[t-1]) / tau_s``.

    The shared filter :func:`spikegrad.functional.recursive_filter.synaptic_trace` (differentiable). Used on
    spikes (the neuron's output), on the repeated analog image (direct input encoding: the first layer
    then sees ``x (1 - (1 - 1/tau_s)^t)``), and on desired spike trains (the loss target).
    """
    if x.dim() < 1:
        raise ShapeError("x", "[T, ...] (time first)", tuple(x.shape))
    return trace_filter(x, params.tau_s, a0)


def initial_state(like: torch.Tensor) -> NAState:
    """Zero state shaped like one time step ``like`` (``[B, ...]``)."""
    return NAState(torch.zeros_like(like), torch.zeros_like(like))


def check_state(state: NAState, step_shape: torch.Size) -> None:
    for name, tensor in zip(("state.v", "state.a"), state):
        if tensor.shape != step_shape:
            raise ShapeError(name, f"{list(step_shape)} (one time step of the input)", tuple(tensor.shape))


def na_forward(currents: torch.Tensor, params: NAParameters, state: NAState | None = None) -> NAOutput:
    """Run the neuron over input currents ``[T, B, ...]`` (no autograd graph is built).

    Scanning ``currents[:k]`` and then ``currents[k:]`` from the carried state gives the same numbers as
    scanning ``currents``.
    """
    if currents.dim() < 2:
        raise ShapeError("currents", "[T, B, ...] (time first)", tuple(currents.shape))
    if state is None:
        state = initial_state(currents[0])
    check_state(state, currents.shape[1:])
    with torch.no_grad():
        spikes, membrane, after = neuron_forward(currents, params.neuron, NeuronState(state.v))
        trace = synaptic_trace(spikes, params, state.a)
    return NAOutput(trace, spikes, membrane, NAState(after.v, trace[-1].clone()))
