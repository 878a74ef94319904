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

Beyond the papers' neurons, the same step takes three options:

.. math::
    x'_t &= x_t + W_{rec}\, s_{t-1} \qquad\qquad\;\; \text{(recurrent: the layer's own spikes of the previous step)}\\
    \vartheta_t &= \vartheta_0 + b\, a_t,\quad a_{t+1} = \rho\, a_t + s_t \quad \text{(adaptive threshold, } \rho = e^{-dt/\tau_{adapt}})

and :math:`\beta, \vartheta_0` may be tensors (per layer or per neuron, trainable) given in
:class:`NeuronWeights`. The adaptation is Bellec et al.'s ALIF ("Long short-term memory and
learning-to-learn in networks of spiking neurons", NeurIPS 2018: :math:`A_t = v_{th} + \beta a_t`,
:math:`a_{t+1} = \rho a_t + (1 - \rho) z_t`, reset by the adaptive threshold as in their code) with their
:math:`(1 - \rho)` folded into :math:`b = \beta_{Bellec} (1 - \rho)`: the adaptation variable counts
spikes, each adding :math:`b` to the threshold and decaying with :math:`\tau_{adapt}`. A spike at
:math:`t-1` raises the threshold from step :math:`t` on; the reset by subtraction removes
:math:`\vartheta_t`, the threshold the neuron fired at.
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

    @property
    def adaptation(self) -> "Adaptation | None":
        """The threshold adaptation ``(rho, b)``, or None for a fixed threshold."""
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


class Adaptation(NamedTuple):
    """Threshold adaptation: ``theta_t = theta_0 + strength * a_t``, ``a_{t+1} = decay * a_t + s_t``."""

    decay: float  # rho per step, in (0, 1)
    strength: float  # b, membrane units per unit of a


@dataclasses.dataclass(frozen=True)
class ALIFParameters(LIFParameters):
    """LIF with an adaptive threshold (see the module docstring): ``rho = exp(-dt / tau_adapt)``.

    ``tau_adapt`` in ms; ``adapt_strength`` (b, >= 0) in membrane units per spike. The defaults (200 ms,
    0.1) are ours, for sequences of tens of steps; Bellec et al.'s LSNN uses ``beta = 1.8`` with ``tau_a``
    of hundreds to thousands of ms, i.e. ``b = 1.8 (1 - rho)`` of about 0.01 to 0.001 at dt = 1 ms.
    """

    tau_adapt: float = 200.0
    adapt_strength: float = 0.1

    def __post_init__(self) -> None:
        super().__post_init__()
        _decay("tau_adapt", self.tau_adapt, self.dt)
        if not math.isfinite(self.adapt_strength) or self.adapt_strength < 0:
            raise ConfigError("adapt_strength", f"must be a finite number >= 0, got {self.adapt_strength!r}")

    @property
    def adaptation(self) -> Adaptation:
        return Adaptation(_decay("tau_adapt", self.tau_adapt, self.dt), self.adapt_strength)


class NeuronWeights(NamedTuple):
    """Tensors of a neuron's own that replace or extend its constants (None: the constant of the parameters).

    ``decay``: beta per step (values in (0, 1]); ``threshold``: theta_0 (> 0); both broadcast against one
    step ``[B, *features]`` (a scalar tensor per layer, ``[*features]`` per neuron). ``recurrent``:
    ``W_rec[N, N]`` for inputs ``[T, B, N]``, feeding ``W_rec s_{t-1}`` into the input current. The
    functional ops use the values as given; :class:`spikegrad.nn.OwnWeights` keeps them in range.
    """

    decay: torch.Tensor | None = None
    threshold: torch.Tensor | None = None
    recurrent: torch.Tensor | None = None


NO_WEIGHTS = NeuronWeights()


class NeuronState(NamedTuple):
    """State carried between steps: membrane ``v`` after reset, synaptic current ``i`` (CUBA only),
    threshold adaptation ``a`` for the next step (adaptive neurons only) and the last step's spikes ``s``
    (recurrent layers only)."""

    v: torch.Tensor
    i: torch.Tensor | None = None
    a: torch.Tensor | None = None
    s: torch.Tensor | None = None


class NeuronOutput(NamedTuple):
    """Output of a step (tensors ``[B, ...]``) or a scan (tensors ``[T, B, ...]``).

    ``spikes``: 0/1 spikes; ``membrane``: the membrane before reset (``h``); ``state``: the final state.
    """

    spikes: torch.Tensor
    membrane: torch.Tensor
    state: NeuronState


def initial_state(params: NeuronParameters, like: torch.Tensor, weights: NeuronWeights = NO_WEIGHTS) -> NeuronState:
    """Zero state shaped like one time step ``like`` (``[B, ...]``), with the parts ``params`` and ``weights`` need."""
    return NeuronState(
        v=torch.zeros_like(like),
        i=torch.zeros_like(like) if params.syn_decay is not None else None,
        a=torch.zeros_like(like) if params.adaptation is not None else None,
        s=torch.zeros_like(like) if weights.recurrent is not None else None,
    )


def check_state(params: NeuronParameters, state: NeuronState, step_shape: torch.Size,
                weights: NeuronWeights = NO_WEIGHTS) -> None:
    """Raise ShapeError/ConfigError if ``state`` does not fit ``params``, ``weights`` and one step of shape ``step_shape``."""
    from spikegrad.errors import InputError, ShapeError

    if not isinstance(state, NeuronState) or not isinstance(state.v, torch.Tensor):
        raise InputError("state", f"expected a NeuronState(v, i) as a neuron returns it, got {type(state).__name__}")
    if state.v.shape != step_shape:
        raise ShapeError("state.v", f"{list(step_shape)} (one time step of the input)", tuple(state.v.shape))
    parts = (("i", params.syn_decay is not None, "synaptic current"),
             ("a", params.adaptation is not None, "adaptive threshold"),
             ("s", weights.recurrent is not None, "recurrent weights"))
    for name, needed, what in parts:
        value = getattr(state, name)
        if needed and (value is None or value.shape != step_shape):
            got = "None" if value is None else tuple(value.shape)
            raise ShapeError(f"state.{name}", f"{list(step_shape)} for a neuron with {what}", got)
        if not needed and value is not None:
            raise ConfigError("state", f"{type(params).__name__} has no {what} here; pass state.{name} = None")


def check_weights(weights: NeuronWeights, step_shape: torch.Size, dtype: torch.dtype) -> None:
    """Raise ShapeError/InputError if ``weights`` do not fit one step ``[B, *features]`` of ``dtype``."""
    from spikegrad.errors import InputError, ShapeError

    for name, value in zip(weights._fields, weights):
        if value is None:
            continue
        if value.dtype != dtype:
            raise InputError(f"weights.{name}", f"expected dtype {dtype} (the input's), got {value.dtype}")
        if name == "recurrent":
            if len(step_shape) != 2 or value.shape != (step_shape[1], step_shape[1]):
                raise ShapeError("weights.recurrent", "[N, N] for inputs [T, B, N]", tuple(value.shape))
        elif len(value.shape) > len(step_shape) - 1 or value.shape != step_shape[len(step_shape) - len(value.shape):]:
            raise ShapeError(f"weights.{name}", f"a scalar or trailing feature dims of {list(step_shape[1:])}",
                             tuple(value.shape))


Threshold = float | torch.Tensor
"""A threshold or decay: the parameters' constant, or a tensor broadcasting against one step."""


def step_input(x: torch.Tensor, state: NeuronState, weights: NeuronWeights) -> torch.Tensor:
    """The step's input current ``x_t + W_rec s_{t-1}`` (``x_t`` itself without recurrent weights)."""
    return x if weights.recurrent is None else torch.addmm(x, state.s, weights.recurrent.t())


def step_threshold(params: NeuronParameters, state: NeuronState, weights: NeuronWeights,
                   out: torch.Tensor | None = None) -> Threshold:
    """The step's threshold ``theta_0 + b a_t`` (``theta_0``, a float or tensor, without adaptation)."""
    base = params.threshold if weights.threshold is None else weights.threshold
    adaptation = params.adaptation
    if adaptation is None:
        return base
    return torch.mul(state.a, adaptation.strength, out=out).add_(base)


def adapt(a: torch.Tensor, s: torch.Tensor, params: NeuronParameters) -> torch.Tensor:
    """The adaptation for the next step: ``a_{t+1} = rho a_t + s_t``."""
    return torch.add(s, a, alpha=params.adaptation.decay)  # type: ignore[union-attr]


def charge(
    x: torch.Tensor, state: NeuronState, params: NeuronParameters, out: torch.Tensor | None = None,
    decay: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """One charge step: returns ``(h, i)`` with ``h = beta v + i`` and ``i = alpha i_prev + x`` (or ``x``).

    ``out``: optional tensor to write ``h`` into (the scan passes its membrane record's slice).
    ``decay``: a tensor beta replacing ``params.mem_decay``.
    """
    alpha = params.syn_decay
    current = x if alpha is None else torch.add(x, state.i, alpha=alpha)
    if decay is not None:
        return torch.addcmul(current, state.v, decay, out=out), (None if alpha is None else current)
    h = torch.add(current, state.v, alpha=params.mem_decay, out=out)
    return h, (None if alpha is None else current)


def fire(
    h: torch.Tensor, params: NeuronParameters, estimator: SpikeEstimator | None = None, out: torch.Tensor | None = None,
    threshold: Threshold | None = None,
) -> torch.Tensor:
    """Spikes ``s = H(h - threshold)`` (no autograd), in ``h``'s dtype, written into ``out`` when given.

    ``estimator=None`` is the plain step; an estimator may replace it (:class:`~spikegrad.grad.Smooth`).
    ``threshold``: the step's threshold (:func:`step_threshold`) when it is not ``params.threshold``.
    """
    theta = params.threshold if threshold is None else threshold
    if estimator is None:
        return heaviside_at(h, theta, strict=params.strict, out=out)
    return estimator.fire(h, theta, out=out, strict=params.strict)


def reset(h: torch.Tensor, s: torch.Tensor, params: NeuronParameters, out: torch.Tensor | None = None,
          threshold: Threshold | None = None) -> torch.Tensor:
    """Membrane after the spike ``s`` (see :class:`Reset`), written into ``out`` when given.

    ``threshold``: the step's threshold when it is not ``params.threshold`` (subtracted on a spike).
    """
    theta = params.threshold if threshold is None else threshold
    if params.reset is Reset.SUBTRACT:
        if isinstance(theta, torch.Tensor):
            return torch.addcmul(h, s, theta, value=-1.0, out=out)
        return torch.sub(h, s, alpha=theta, out=out)
    if params.reset is Reset.ZERO:
        return torch.addcmul(h, h, s, value=-1.0, out=out)  # h (1 - s), without a (1 - s) temporary
    return h if out is None else out.copy_(h)


def step_forward(
    x: torch.Tensor,
    state: NeuronState,
    params: NeuronParameters,
    estimator: SpikeEstimator | None = None,
    out: tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor | None] = (None, None, None),
    weights: NeuronWeights = NO_WEIGHTS,
    threshold_out: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, NeuronState]:
    """One step of :func:`charge`, :func:`fire` and :func:`reset` (no autograd): ``(h, s, state after)``.

    ``out`` names tensors to write ``h``, ``s`` and ``v`` into (``v`` may be ``h``'s tensor: the reset is
    elementwise), so that re-simulations can run in place on preallocated buffers. ``weights``: the
    neuron's own tensors (:class:`NeuronWeights`); ``threshold_out``: where an adaptive threshold is written.
    """
    h_out, s_out, v_out = out
    theta = step_threshold(params, state, weights, out=threshold_out)
    h, current = charge(step_input(x, state, weights), state, params, out=h_out, decay=weights.decay)
    s = fire(h, params, estimator, out=s_out, threshold=theta)
    v = reset(h, s, params, out=v_out, threshold=theta)
    a = None if params.adaptation is None else adapt(state.a, s, params)
    return h, s, NeuronState(v, current, a, None if weights.recurrent is None else s)


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
    weights: NeuronWeights = NO_WEIGHTS,
    thresholds: torch.Tensor | None = None,
) -> ForwardRecord:
    """Run :func:`charge`, :func:`fire` and :func:`reset` over ``x[T, B, ...]`` without autograd.

    The one forward loop of the shared neurons: the BPTT scan, Lee's scan and NA's layer all call it and
    differ only in their backward passes. ``keep_membrane=False`` writes ``h`` into one scratch step.
    ``thresholds``: a ``[T, B, ...]`` tensor to record an adaptive neuron's threshold of every step into.
    """
    with torch.no_grad():
        spikes = torch.empty_like(x, memory_format=torch.contiguous_format)
        membrane = torch.empty_like(spikes) if keep_membrane else None
        scratch = None if keep_membrane else torch.empty_like(x[0], memory_format=torch.contiguous_format)
        for t in range(x.shape[0]):
            _, _, state = step_forward(x[t], state, params, estimator,
                                       out=(membrane[t] if membrane is not None else scratch, spikes[t], None),
                                       weights=weights, threshold_out=None if thresholds is None else thresholds[t])
        v = state.v
        if params.reset is Reset.NONE and x.shape[0] > 0:
            v = v.clone()  # without a reset v is h itself: a slice of the membrane record, or the scratch step
    return ForwardRecord(spikes, membrane, state._replace(v=v))


def neuron_step(
    x: torch.Tensor, state: NeuronState, params: NeuronParameters, estimator: SpikeEstimator,
    weights: NeuronWeights = NO_WEIGHTS,
) -> NeuronOutput:
    """Advance one time step with plain autograd. ``x`` and the state are ``[B, ...]``.

    Gives the same numbers as :func:`spikegrad.functional.scan.neuron_scan` on a one-step sequence.
    """
    theta = step_threshold(params, state, weights)
    h, current = charge(step_input(x, state, weights), state, params, decay=weights.decay)
    s = spike(h - theta, estimator, strict=params.strict)
    v = reset(h, s.detach() if params.detach_reset else s, params, threshold=theta)
    a = None if params.adaptation is None else adapt(state.a, s, params)
    return NeuronOutput(spikes=s, membrane=h, state=NeuronState(v, current, a, None if weights.recurrent is None else s))
