r"""Spike-based backpropagation of Lee et al. (2020): the neuron scan with its gradient path, and the output
integrator.

Paper: Lee, Sarwar, Panda, Srinivasan, Roy, "Enabling Spike-Based Backpropagation for Training Deep
Neural Network Architectures", Front. Neurosci. 14:119 (2020). Reference code:
``chan8972/Enabling_Spikebased_Backpropagation`` (read in full; see ``docs/methods-lee-na.md`` part A).

**Forward** (exactly as the code runs it), for every spiking layer, with input current :math:`I[t]`:

.. math::
    U[t] = \lambda\,\hat V[t-1] + I[t],\qquad s[t] = H(U[t] - V_{th})\ (\text{strict } >),\qquad
    \hat V[t] = U[t]\,(1 - s[t])

i.e. the shared neuron (:func:`~spikegrad.functional.neuron.neuron_forward`) with a strict threshold and a
hard reset to zero; only the backward pass is Lee's own. LIF layers use :math:`\lambda = 0.99, V_{th} = 1`; the spiking average-pooling
neurons are IF (:math:`\lambda = 1`) with :math:`V_{th} = 0.75`.

**Backward**, two paths (:class:`LeeGradientPath`); :math:`g[t] = \partial E/\partial s[t]` arrives from
the layers above and :math:`G = NG/V_{th}` is the per-neuron factor of :mod:`spikegrad.rules.lee.derivative`,
computed from the layer's own spikes at the end of the forward window:

- ``CODE`` (default, faithful to the reference code): the spike passes its gradient only at steps where
  it fired (``SpikingNN``), the membrane leak is detached in the backward pass (factor 1, not
  :math:`\lambda`), and the reset gates the temporal path:

  .. math:: \delta U[t] = G\,g[t]\,s[t] + \delta U[t+1]\,(1 - s[t]),\qquad
            \frac{\partial E}{\partial I[t]} = \delta U[t]

  Consequence: inputs after a neuron's last spike get no credit, and lower layers receive a gradient
  that varies in time. For the last hidden layer, whose :math:`g[t]` is constant because the output
  leak is detached too, this collapses to the closed form
  :math:`\partial E/\partial w_j = \frac{\partial E}{\partial o}\frac{W_{out}}{T}\frac{NG}{V_{th}}\sum_{t\le t_{last}}x_j[t]`.

- ``RATE`` (the paper's once-per-window formula): the activation is the spike count, so
  :math:`\partial E/\partial a = \frac1T\sum_t g[t]` and every step of the window receives the same
  :math:`\partial E/\partial I[t] = G\,\partial E/\partial a`. The weight gradient is then
  :math:`\delta\,\sum_t x[t]`, the accumulated input spikes of the paper, with no last-spike cut-off.
  Using the window mean of :math:`g` is this library's reading of the paper (UNVERIFIED: the paper text
  was not available); it reduces to the paper's :math:`\delta^l = (W^{l+1})^\top\delta^{l+1}\odot
  \partial a/\partial net` whenever :math:`g` is constant in time, as it is when every layer above uses
  this path.

Either way the whole window is one forward call and the update happens once, after the last step. A
sequence cut into chunks gives the same forward numbers (the carried state is the membrane), but the
gradient factor is then computed per chunk, which is not Lee's rule: train on whole windows.

The output layer does not spike (:func:`lee_integrate`): :math:`M[t] = \lambda(M[t-1] + c[t])` and
:math:`o = M[T]/(V_{th}T)`; its leak is detached too, so :math:`\partial o/\partial c[t] = 1/T` at every
step although the forward weights step :math:`t` by :math:`\lambda^{T-t+1}`. The loss is the summed
squared error against one-hot labels (:func:`lee_mse_loss`, ``MSELoss(size_average=False)``).
"""

from __future__ import annotations

import enum
from typing import Any, NamedTuple

import torch

from spikegrad.errors import ConfigError, ShapeError
from spikegrad.functional.neuron import NeuronParameters, NeuronState, Reset, neuron_forward
from spikegrad.kernels import kernel_for
from spikegrad.rules.lee.derivative import LeakCorrectedDerivative
from spikegrad.types import check_neuron_input, full_precision


class LeeGradientPath(enum.Enum):
    """How the leak-corrected derivative enters the backward pass (see the module docstring)."""

    CODE = "code"  # the reference code's spike-gated BPTT path, leak detached (faithful default)
    RATE = "rate"  # the paper's once-per-window rate formula

    @classmethod
    def parse(cls, value: "str | LeeGradientPath") -> "LeeGradientPath":
        if isinstance(value, cls):
            return value
        try:
            return cls(value)
        except ValueError:
            raise ConfigError("gradient", f"expected one of {[p.value for p in cls]}, got {value!r}") from None


class LeeScanOutput(NamedTuple):
    """``spikes[T, B, ...]`` (0/1), the state after the last step (membrane after reset, before leak) and,
    when asked for, the membrane before reset ``[T, B, ...]`` (no gradient flows through it)."""

    spikes: torch.Tensor
    state: NeuronState
    membrane: torch.Tensor | None = None


def check_lee_params(params: NeuronParameters) -> None:
    """Lee's gradient path assumes a hard reset to zero, a strict threshold and no synaptic current stage."""
    if params.reset is not Reset.ZERO:
        raise ConfigError("reset", f"Lee's neurons reset to zero (Reset.ZERO), got {params.reset}")
    if not params.strict:
        raise ConfigError("strict", "Lee's neurons fire on a strict threshold (v > V_th): pass strict=True")
    if params.syn_decay is not None:
        raise ConfigError("neuron", f"Lee's neurons have no synaptic current stage, got {type(params).__name__}")


class _LeeNeuronScan(torch.autograd.Function):
    """Forward: the shared neuron's forward loop (:func:`~spikegrad.functional.neuron.neuron_forward`: charge,
    strict fire, reset to zero). Backward: Lee's own, because its maths differs from the shared BPTT scan
    (the gate, the detached leak, the window factor): see :class:`LeeGradientPath`. Everything is float
    arithmetic (boolean masks, ``where`` and ``masked_fill`` are several times slower on the CPU)."""

    @staticmethod
    def forward(ctx: Any, x, v0, params: NeuronParameters, derivative: LeakCorrectedDerivative,  # type: ignore[override]
                path: LeeGradientPath, keep_membrane: bool):
        spikes, membrane, state = neuron_forward(x, params, NeuronState(v0), keep_membrane=keep_membrane)
        if ctx.needs_input_grad[0] or ctx.needs_input_grad[1]:
            ctx.save_for_backward(spikes, derivative.derivative(spikes))
        ctx.path = path
        ctx.set_materialize_grads(False)
        membrane = membrane if membrane is not None else spikes.new_empty(0)
        ctx.mark_non_differentiable(membrane)
        return spikes, state.v, membrane

    @staticmethod
    def backward(ctx: Any, g_spikes, g_v, g_membrane):  # type: ignore[override]
        spikes, gain = ctx.saved_tensors
        steps = spikes.shape[0]
        if ctx.path is LeeGradientPath.RATE:
            if g_v is not None and bool(g_v.ne(0).any()):
                raise ConfigError("gradient", "the rate path treats one call as the whole window; "
                                  "do not back-propagate through the carried membrane state")
            if g_spikes is None:
                return None, None, None, None, None, None
            delta = gain * g_spikes.mean(0)
            return delta.unsqueeze(0).expand(steps, *delta.shape).contiguous(), None, None, None, None, None
        if g_spikes is None:
            grad_x = torch.zeros_like(spikes)
        else:
            grad_x = (g_spikes * gain).mul_(spikes)  # G g[t] s[t]
        carry = torch.zeros_like(gain) if g_v is None else g_v
        for t in range(steps - 1, -1, -1):
            # dE/dU[t] = G g[t] s[t] + dE/dU[t+1] (1 - s[t]): leak detached, the reset gates the path
            carry = grad_x[t].addcmul_(carry, 1.0 - spikes[t])
        return grad_x, carry.clone(), None, None, None, None


def lee_neuron_scan(
    x: torch.Tensor,
    params: NeuronParameters,
    derivative: LeakCorrectedDerivative,
    path: LeeGradientPath = LeeGradientPath.CODE,
    state: NeuronState | None = None,
    keep_membrane: bool = False,
) -> LeeScanOutput:
    """Run Lee's spiking neurons over a window ``x[T, B, ...]`` of input currents.

    Args:
        x: input currents, time first.
        params: the neuron (``LIFParameters.from_beta(0.99, reset=Reset.ZERO, strict=True)`` for Lee's LIF,
            ``IFParameters(0.75, reset=Reset.ZERO, strict=True)`` for the pooling neurons). Must reset to
            zero and fire on a strict threshold.
        derivative: the per-neuron gradient factor computed from the output spikes at the end of the
            window (:class:`~spikegrad.rules.lee.derivative.LeakCorrectedDerivative`).
        path: :class:`LeeGradientPath` (``CODE``: the reference code's; ``RATE``: the paper's formula).
        state: membrane after reset at the previous step (zeros if None), ``[B, ...]``.
        keep_membrane: also return the membrane before reset ``[T, B, ...]`` (for recording; the
            backward pass does not use it).

    Returns:
        :class:`LeeScanOutput`: 0/1 spikes ``[T, B, ...]``, the final state and, with ``keep_membrane``,
        the membrane. Time and memory are O(T); the backward pass keeps only the spikes (float: the output
        tensor itself, not a copy; a boolean copy measured more memory and time, ``benchmarks/RESULTS.md``)
        and the per-neuron factor.

    Dispatch: the Triton kernel (:mod:`spikegrad.kernels.lee_scan`) for supported CUDA calls, this reference
    elsewhere (:func:`spikegrad.kernels.kernel_for`). The kernel computes the factor of
    :class:`~spikegrad.rules.lee.derivative.LeakCorrectedDerivative` itself, so another factor (a subclass)
    runs the reference; so does ``keep_membrane`` (the kernel does not write the membrane).
    """
    check_neuron_input(x, "x")
    x = full_precision(x)
    check_lee_params(params)
    v0 = torch.zeros_like(x[0]) if state is None else state.v
    if v0.shape != x.shape[1:]:
        raise ShapeError("state.v", f"{list(x.shape[1:])} (one time step of the input)", tuple(v0.shape))
    path = LeeGradientPath.parse(path)
    exact = type(derivative) is LeakCorrectedDerivative  # the formula the kernel computes, not a subclass's
    factor = (derivative.leak, derivative.threshold, derivative.eps) if exact else None
    rate = path is LeeGradientPath.RATE
    kernel = None if keep_membrane else kernel_for("lee_scan", x, v0, params, factor, rate)
    if kernel is not None:
        spikes, v = kernel(x, v0, params, factor, rate)
        return LeeScanOutput(spikes, NeuronState(v), None)
    spikes, v, membrane = _LeeNeuronScan.apply(x, v0, params, derivative, path, keep_membrane)
    return LeeScanOutput(spikes, NeuronState(v), membrane if keep_membrane else None)


def lee_integrate(current: torch.Tensor, leak: float, membrane: torch.Tensor | None = None) -> torch.Tensor:
    r"""The non-spiking output layer's membrane trace ``M[t] = leak * (M[t-1] + c[t])`` for ``c[T, B, ...]``.

    Forward: the leaky trace from ``membrane`` (``M[0]``, zeros if None). Backward: the leak is detached,
    as in the reference code (``l * m.detach() + m - m.detach()``), so ``dM[t]/dc[t'] = 1`` for every
    ``t' <= t`` (a cumulative sum) and ``dM[t]/dM[0] = 1``.
    """
    if current.dim() < 2:
        raise ShapeError("current", "[T, B, ...] (time first)", tuple(current.shape))
    if not 0.0 < leak <= 1.0:
        raise ConfigError("leak", f"the output leak factor must lie in (0, 1], got {leak!r}")
    start = torch.zeros_like(current[0]) if membrane is None else membrane
    with torch.no_grad():  # the forward value, step by step as the code: M[t] = leak * (M[t-1] + c[t])
        value = torch.empty_like(current)
        m = start.detach()
        for t in range(current.shape[0]):
            m = leak * (m + current[t])
            value[t] = m
    straight = start + current.cumsum(0)  # what the backward pass sees
    return straight + (value - straight).detach()
