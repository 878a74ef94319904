r"""Discrete-time spiking neurons as pure functions: parameters, state, and one step.

Every neuron here is one recursion, split into charge, fire and reset (time step ``dt`` in ms):

.. math::
    i_t &= \alpha\, i_{t-1} + x_t \quad\text{(CUBA only; otherwise } i_t = x_t)\\
    h_t &= \beta\, v_{t-1} + i_t \qquad\qquad \text{(charge; } h_t \text{ is the membrane before reset)}\\
    s_t &= H(h_t - \vartheta) \qquad\qquad\;\;\, \text{(fire)}\\
    v_t &= \begin{cases} h_t - \vartheta s_t & \text{reset by subtraction}\\
                          h_t (1 - s_t) & \text{reset to zero}\\
                          h_t & \text{no reset}\end{cases}

with :math:`\beta = e^{-dt/\tau_{mem}}` (LIF), :math:`\beta = 1` (IF) and
:math:`\alpha = e^{-dt/\tau_{syn}}` (CUBA). Inputs, membrane and threshold share one (arbitrary) unit.
A new neuron type is a new parameter class giving ``mem_decay``/``syn_decay``; fire and reset are shared.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from abc import ABC, abstractmethod
from typing import NamedTuple

import torch

from spikegrad.errors import ConfigError
from spikegrad.functional.spike import spike
from spikegrad.grad.base import SpikeEstimator


class Reset(enum.Enum):
    """What happens to the membrane after a spike."""

    SUBTRACT = "subtract"  # v = h - theta * s
    ZERO = "zero"  # v = h * (1 - s)
    NONE = "none"  # v = h


@dataclasses.dataclass(frozen=True)
class NeuronParameters(ABC):
    """Fields shared by every neuron: threshold (membrane units), reset mode, reset gradient.

    ``detach_reset=True`` stops the gradient through the reset term (the spike used in the reset is
    treated as a constant), as snnTorch and SpikingJelly offer.
    """

    threshold: float = 1.0
    reset: Reset = Reset.SUBTRACT
    detach_reset: bool = False

    def __post_init__(self) -> None:
        if not math.isfinite(self.threshold) or self.threshold <= 0:
            raise ConfigError("threshold", f"must be a finite number > 0, got {self.threshold!r}")
        if not isinstance(self.reset, Reset):
            object.__setattr__(self, "reset", _parse_reset(self.reset))

    @property
    @abstractmethod
    def mem_decay(self) -> float:
        """beta, the membrane's decay per step."""

    @property
    def syn_decay(self) -> float | None:
        """alpha, the synaptic current's decay per step, or None for neurons without a current stage."""
        return None


def _parse_reset(value: object) -> Reset:
    try:
        return Reset(value)
    except ValueError:
        raise ConfigError("reset", f"expected one of {[r.value for r in Reset]}, got {value!r}") from None


def _decay(option: str, tau_ms: float, dt_ms: float) -> float:
    if not tau_ms > 0:
        raise ConfigError(option, f"time constant must be > 0 ms, got {tau_ms!r}")
    if not dt_ms > 0:
        raise ConfigError("dt", f"time step must be > 0 ms, got {dt_ms!r}")
    return math.exp(-dt_ms / tau_ms)


@dataclasses.dataclass(frozen=True)
class LIFParameters(NeuronParameters):
    """Leaky integrate-and-fire: ``beta = exp(-dt / tau_mem)``; ``tau_mem`` and ``dt`` in ms."""

    tau_mem: float = 20.0
    dt: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        _decay("tau_mem", self.tau_mem, self.dt)

    @property
    def mem_decay(self) -> float:
        return _decay("tau_mem", self.tau_mem, self.dt)

    @classmethod
    def from_beta(cls, beta: float, **fields: object) -> "LIFParameters":
        """LIF with a given per-step decay ``beta`` in (0, 1), at ``dt = 1`` ms."""
        if not 0 < beta < 1:
            raise ConfigError("beta", f"must lie in (0, 1), got {beta!r}")
        return cls(tau_mem=-1.0 / math.log(beta), dt=1.0, **fields)  # type: ignore[arg-type]


@dataclasses.dataclass(frozen=True)
class IFParameters(NeuronParameters):
    """Integrate-and-fire without leak: ``beta = 1``."""

    @property
    def mem_decay(self) -> float:
        return 1.0


@dataclasses.dataclass(frozen=True)
class CUBAParameters(LIFParameters):
    """Current-based LIF: a synaptic current with ``alpha = exp(-dt / tau_syn)`` feeds the LIF membrane."""

    tau_syn: float = 5.0

    def __post_init__(self) -> None:
        super().__post_init__()
        _decay("tau_syn", self.tau_syn, self.dt)

    @property
    def syn_decay(self) -> float:
        return _decay("tau_syn", self.tau_syn, self.dt)


class NeuronState(NamedTuple):
    """State carried between steps: membrane ``v`` after reset, and synaptic current ``i`` (CUBA only)."""

    v: torch.Tensor
    i: torch.Tensor | None = None


class NeuronOutput(NamedTuple):
    """Output of a step (tensors ``[B, ...]``) or a scan (tensors ``[T, B, ...]``).

    ``spikes``: 0/1 spikes; ``membrane``: the membrane before reset (``h``); ``state``: the final state.
    """

    spikes: torch.Tensor
    membrane: torch.Tensor
    state: NeuronState


def initial_state(params: NeuronParameters, like: torch.Tensor) -> NeuronState:
    """Zero state shaped like one time step ``like`` (``[B, ...]``)."""
    zeros = torch.zeros_like(like)
    return NeuronState(v=zeros, i=torch.zeros_like(like) if params.syn_decay is not None else None)


def check_state(params: NeuronParameters, state: NeuronState, step_shape: torch.Size) -> None:
    """Raise ShapeError/ConfigError if ``state`` does not fit ``params`` and one step of shape ``step_shape``."""
    from spikegrad.errors import ShapeError

    if state.v.shape != step_shape:
        raise ShapeError("state.v", f"{list(step_shape)} (one time step of the input)", tuple(state.v.shape))
    has_current = params.syn_decay is not None
    if has_current and (state.i is None or state.i.shape != step_shape):
        got = "None" if state.i is None else tuple(state.i.shape)
        raise ShapeError("state.i", f"{list(step_shape)} for a neuron with a synaptic current", got)
    if not has_current and state.i is not None:
        raise ConfigError("state", f"{type(params).__name__} has no synaptic current; pass NeuronState(v) with i=None")


def charge(
    x: torch.Tensor, state: NeuronState, params: NeuronParameters, out: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """One charge step: returns ``(h, i)`` with ``h = beta v + i`` and ``i = alpha i_prev + x`` (or ``x``).

    ``out``: optional tensor to write ``h`` into (the scan passes its membrane record's slice).
    """
    alpha = params.syn_decay
    current = x if alpha is None else torch.add(x, state.i, alpha=alpha)
    h = torch.add(current, state.v, alpha=params.mem_decay, out=out)
    return h, (None if alpha is None else current)


def reset(h: torch.Tensor, s: torch.Tensor, params: NeuronParameters) -> torch.Tensor:
    """Membrane after the spike ``s`` (see :class:`Reset`)."""
    if params.reset is Reset.SUBTRACT:
        return torch.sub(h, s, alpha=params.threshold)
    if params.reset is Reset.ZERO:
        return h * (1.0 - s)
    return h


def neuron_step(
    x: torch.Tensor, state: NeuronState, params: NeuronParameters, estimator: SpikeEstimator
) -> NeuronOutput:
    """Advance one time step with plain autograd. ``x`` and the state are ``[B, ...]``.

    Gives the same numbers as :func:`spikegrad.functional.scan.neuron_scan` on a one-step sequence.
    """
    h, current = charge(x, state, params)
    s = spike(h - params.threshold, estimator)
    v = reset(h, s.detach() if params.detach_reset else s, params)
    return NeuronOutput(spikes=s, membrane=h, state=NeuronState(v=v, i=current))
