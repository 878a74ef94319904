r"""Multi-step neuron scan with a hand-written backward pass: O(T) time and memory.

Forward runs the recursion of :mod:`spikegrad.functional.neuron` over ``x[T, B, ...]`` without building an
autograd graph and keeps one tensor, the membrane before reset ``h[T, B, ...]``. Backward walks time in
reverse (BPTT) and recomputes spikes and surrogate derivatives from ``h``:

.. math::
    \frac{\partial L}{\partial h_t} &= g^s_t\, \sigma'_t + g^h_t
        + \frac{\partial L}{\partial v_t}\Big(\frac{\partial v_t}{\partial h_t}
        + \frac{\partial v_t}{\partial s_t}\sigma'_t\Big),\qquad
    \frac{\partial L}{\partial v_{t-1}} = \beta\,\frac{\partial L}{\partial h_t}\\
    \frac{\partial L}{\partial i_t} &= \frac{\partial L}{\partial h_t} + \alpha\frac{\partial L}{\partial i_{t+1}},
    \qquad \frac{\partial L}{\partial x_t} = \frac{\partial L}{\partial i_t}

where :math:`\sigma'_t` is the estimator's derivative at :math:`h_t - \vartheta`, :math:`g^s, g^h` are the
gradients arriving at the spike and membrane outputs, and the reset term
:math:`\partial v/\partial s` is dropped under ``detach_reset``. The per-step cost is a handful of
elementwise ops, with no per-step autograd nodes; indexing a grad-requiring sequence as ``x[t]`` inside
an autograd loop would instead cost O(T^2) (a full-size zero gradient per step).
"""

from __future__ import annotations

from typing import Any

import torch

from spikegrad.errors import ShapeError
from spikegrad.functional.neuron import (
    NeuronOutput,
    NeuronParameters,
    NeuronState,
    Reset,
    charge,
    check_state,
    initial_state,
    reset,
)
from spikegrad.grad.base import SpikeEstimator


def _reset_partials(h: torch.Tensor, s: torch.Tensor, params: NeuronParameters) -> tuple[Any, Any]:
    """``(dv/dh, dv/ds)`` of :func:`~spikegrad.functional.neuron.reset` (scalars or tensors)."""
    if params.reset is Reset.SUBTRACT:
        return 1.0, -params.threshold
    if params.reset is Reset.ZERO:
        return 1.0 - s, -h
    return 1.0, 0.0


class _NeuronScan(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x, v0, i0, params: NeuronParameters, estimator: SpikeEstimator):  # type: ignore[override]
        membrane = torch.empty_like(x)
        spikes = torch.empty_like(x)
        state = NeuronState(v0, i0)
        for t in range(x.shape[0]):
            h, current = charge(x[t], state, params)
            membrane[t] = h
            s = estimator.forward(h - params.threshold)
            spikes[t] = s
            state = NeuronState(reset(h, s, params), current)
        ctx.save_for_backward(membrane)
        ctx.params, ctx.estimator = params, estimator
        v_final, i_final = state
        return spikes, membrane, v_final, (i_final if i_final is not None else v_final.new_empty(0))

    @staticmethod
    def backward(ctx: Any, g_spikes, g_membrane, g_v, g_i):  # type: ignore[override]
        (membrane,) = ctx.saved_tensors
        params: NeuronParameters = ctx.params
        estimator: SpikeEstimator = ctx.estimator
        beta, alpha = params.mem_decay, params.syn_decay
        grad_x = torch.empty_like(membrane)
        g_v = torch.zeros_like(membrane[0]) if g_v is None else g_v
        g_i = None if alpha is None else (torch.zeros_like(membrane[0]) if g_i is None else g_i)
        for t in range(membrane.shape[0] - 1, -1, -1):
            h = membrane[t]
            centred = h - params.threshold
            slope = estimator.derivative(centred)
            dv_dh, dv_ds = _reset_partials(h, estimator.forward(centred), params)
            through_v = dv_dh if params.detach_reset else dv_dh + dv_ds * slope
            g_h = g_v * through_v
            if g_spikes is not None:
                g_h = g_h + g_spikes[t] * slope
            if g_membrane is not None:
                g_h = g_h + g_membrane[t]
            if alpha is None:
                grad_x[t] = g_h
            else:
                g_current = g_h + g_i
                grad_x[t] = g_current
                g_i = alpha * g_current
            g_v = beta * g_h
        return grad_x, g_v, g_i, None, None


def neuron_scan(
    x: torch.Tensor,
    params: NeuronParameters,
    estimator: SpikeEstimator,
    state: NeuronState | None = None,
) -> NeuronOutput:
    """Run a neuron over a whole sequence ``x[T, B, ...]`` (input current per step).

    Args:
        x: input currents, time first, ``[T, B, ...]``.
        params: neuron parameters (:class:`LIFParameters`, :class:`IFParameters`, :class:`CUBAParameters`).
        estimator: spike-derivative estimator used in the backward pass.
        state: state before the first step (zeros if None); its tensors are ``[B, ...]``.

    Returns:
        :class:`NeuronOutput` with ``spikes`` and ``membrane`` (before reset) ``[T, B, ...]`` and the state
        after the last step. Scanning ``x[:k]`` and then ``x[k:]`` from the carried state gives exactly
        the same numbers as scanning ``x``, and the same as :func:`neuron_step` applied step by step.
    """
    if x.dim() < 2:
        raise ShapeError("x", "[T, B, ...] (time first)", tuple(x.shape))
    if state is None:
        state = initial_state(params, x[0])
    check_state(params, state, x.shape[1:])
    spikes, membrane, v, i = _NeuronScan.apply(x, state.v, state.i, params, estimator)
    return NeuronOutput(spikes, membrane, NeuronState(v, i if params.syn_decay is not None else None))
