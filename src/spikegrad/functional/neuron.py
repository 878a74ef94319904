r"""Discrete-time spiking neurons as pure functions: parameters, state, and one step.

Every neuron here is one recursion, split into charge, fire and reset (time step ``dt`` in ms):

.. math::
    i_t &= \alpha\, i_{t-1} + x_t \quad\text{(CUBA only; otherwise } i_t = x_t)\\
    h_t &= \beta\, v_{t-1} + i_t \qquad\qquad \text{(charge; } h_t \text{ is the membrane before reset)}\\
    s_t &= H(h_t - \vartheta) \qquad\qquad\;\;\, \text{(fire; } H(0) = 1\text{, or } 0 \text{ with a strict threshold)}\\
    v_t &= \begin{cases} h_t - \vartheta s_t & \text{reset by subtraction}\\
                          h_t (1 - s_t) & \text{reset to zero}\\
                          h_t & \text{no reset}\end{cases}

with :math:`\beta = e^{-dt/\tau_{mem}}` (LIF; or given directly, e.g. ``1 - 1/tau`` as the NA/TSSL-BP code
and ``0.99`` as Lee et al.'s), :math:`\beta = 1` (IF) and :math:`\alpha = e^{-dt/\tau_{syn}}` (CUBA). Inputs,
membrane and threshold share one (arbitrary) unit. ``strict`` fires on :math:`h > \vartheta` (the NA and
Lee codes) instead of :math:`h \ge \vartheta`. A new neuron type is a new parameter class giving
``mem_decay``/``syn_decay``; charge, fire and reset are written once, here, and every scan (the shared
BPTT scan, Lee's, NA's neighbour re-simulation) calls them.
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
from spikegrad.grad.base import SpikeEstimator, heaviside_at


class Reset(enum.Enum):
    """What happens to the membrane after a spike."""

    SUBTRACT = "subtract"  # v = h - theta * s
    ZERO = "zero"  # v = h * (1 - s)
    NONE = "none"  # v = h


@dataclasses.dataclass(frozen=True)
class NeuronParameters(ABC):
    """Fields shared by every neuron: threshold (membrane units), reset mode, reset gradient.

    ``detach_reset=True`` stops the gradient through the reset term (the spike used in the reset is
    treated as a constant), as snnTorch and SpikingJelly offer. ``strict=True`` fires on ``h > threshold``
    (``H(0) = 0``), as the NA/TSSL-BP and Lee et al. codes do; the default fires on ``h >= threshold``.
    """

    threshold: float = 1.0
    reset: Reset = Reset.SUBTRACT
    detach_reset: bool = False
    strict: bool = False

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
    """Leaky integrate-and-fire: ``beta = exp(-dt / tau_mem)``; ``tau_mem`` and ``dt`` in ms.

    ``beta``, when given, is the per-step decay itself (in [0, 1)), used exactly as given; ``tau_mem`` is
    then ``-dt / ln(beta)`` for display and export (0 for ``beta = 0``, a neuron without memory).
    """

    tau_mem: float = 20.0
    dt: float = 1.0
    beta: float | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.beta is None:
            _decay("tau_mem", self.tau_mem, self.dt)
            return
        if not 0 <= self.beta < 1:
            raise ConfigError("beta", f"must lie in [0, 1), got {self.beta!r}")
        _decay("dt", 1.0, self.dt)
        object.__setattr__(self, "tau_mem", -self.dt / math.log(self.beta) if self.beta > 0 else 0.0)

    @property
    def mem_decay(self) -> float:
        return self.beta if self.beta is not None else _decay("tau_mem", self.tau_mem, self.dt)

    @classmethod
    def from_beta(cls, beta: float, **fields: object) -> "LIFParameters":
        """LIF with the per-step decay ``beta`` in [0, 1) used exactly, at ``dt = 1`` ms."""
        return cls(beta=beta, **fields)  # type: ignore[arg-type]


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
    from spikegrad.errors import InputError, ShapeError

    if not isinstance(state, NeuronState) or not isinstance(state.v, torch.Tensor):
        raise InputError("state", f"expected a NeuronState(v, i) as a neuron returns it, got {type(state).__name__}")
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


def fire(
    h: torch.Tensor, params: NeuronParameters, estimator: SpikeEstimator | None = None, out: torch.Tensor | None = None
) -> torch.Tensor:
    """Spikes ``s = H(h - threshold)`` (no autograd), in ``h``'s dtype, written into ``out`` when given.

    ``estimator=None`` is the plain step; an estimator may replace it (:class:`~spikegrad.grad.Smooth`).
    """
    if estimator is None:
        return heaviside_at(h, params.threshold, strict=params.strict, out=out)
    return estimator.fire(h, params.threshold, out=out, strict=params.strict)


def reset(h: torch.Tensor, s: torch.Tensor, params: NeuronParameters, out: torch.Tensor | None = None) -> torch.Tensor:
    """Membrane after the spike ``s`` (see :class:`Reset`), written into ``out`` when given."""
    if params.reset is Reset.SUBTRACT:
        return torch.sub(h, s, alpha=params.threshold, out=out)
    if params.reset is Reset.ZERO:
        return torch.addcmul(h, h, s, value=-1.0, out=out)  # h (1 - s), without a (1 - s) temporary
    return h if out is None else out.copy_(h)


def step_forward(
    x: torch.Tensor,
    state: NeuronState,
    params: NeuronParameters,
    estimator: SpikeEstimator | None = None,
    out: tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor | None] = (None, None, None),
) -> tuple[torch.Tensor, torch.Tensor, NeuronState]:
    """One step of :func:`charge`, :func:`fire` and :func:`reset` (no autograd): ``(h, s, state after)``.

    ``out`` names tensors to write ``h``, ``s`` and ``v`` into (``v`` may be ``h``'s tensor: the reset is
    elementwise), so that re-simulations can run in place on preallocated buffers.
    """
    h_out, s_out, v_out = out
    h, current = charge(x, state, params, out=h_out)
    s = fire(h, params, estimator, out=s_out)
    return h, s, NeuronState(reset(h, s, params, out=v_out), current)


class ForwardRecord(NamedTuple):
    """What :func:`neuron_forward` returns: ``spikes[T, ...]``, ``membrane[T, ...]`` (``h``, or None when not
    kept) and the state after the last step."""

    spikes: torch.Tensor
    membrane: torch.Tensor | None
    state: NeuronState


def neuron_forward(
    x: torch.Tensor,
    params: NeuronParameters,
    state: NeuronState,
    estimator: SpikeEstimator | None = None,
    keep_membrane: bool = True,
) -> ForwardRecord:
    """Run :func:`charge`, :func:`fire` and :func:`reset` over ``x[T, B, ...]`` without autograd.

    The one forward loop of the shared neurons: the BPTT scan, Lee's scan and NA's layer all call it and
    differ only in their backward passes. ``keep_membrane=False`` writes ``h`` into one scratch step.
    """
    with torch.no_grad():
        spikes = torch.empty_like(x, memory_format=torch.contiguous_format)
        membrane = torch.empty_like(spikes) if keep_membrane else None
        scratch = None if keep_membrane else torch.empty_like(x[0], memory_format=torch.contiguous_format)
        for t in range(x.shape[0]):
            _, _, state = step_forward(x[t], state, params, estimator,
                                       out=(membrane[t] if membrane is not None else scratch, spikes[t], None))
        v = state.v
        if params.reset is Reset.NONE and x.shape[0] > 0:
            v = v.clone()  # without a reset v is h itself: a slice of the membrane record, or the scratch step
    return ForwardRecord(spikes, membrane, NeuronState(v, state.i))


def neuron_step(
    x: torch.Tensor, state: NeuronState, params: NeuronParameters, estimator: SpikeEstimator
) -> NeuronOutput:
    """Advance one time step with plain autograd. ``x`` and the state are ``[B, ...]``.

    Gives the same numbers as :func:`spikegrad.functional.scan.neuron_scan` on a one-step sequence.
    """
    h, current = charge(x, state, params)
    s = spike(h - params.threshold, estimator, strict=params.strict)
    v = reset(h, s.detach() if params.detach_reset else s, params)
    return NeuronOutput(spikes=s, membrane=h, state=NeuronState(v=v, i=current))
