r"""Multi-step neuron scan with a hand-written backward pass: O(T) time and memory.

Forward runs the recursion of :mod:`spikegrad.functional.neuron` over ``x[T, B, ...]``
(:func:`~spikegrad.functional.neuron.neuron_forward`) without building an autograd graph and keeps one
tensor, the membrane before reset ``h[T, B, ...]``. Backward walks time in
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

from spikegrad.functional.neuron import (
    NeuronOutput,
    NeuronParameters,
    NeuronState,
    Reset,
    check_state,
    initial_state,
    neuron_forward,
)
from spikegrad.grad.base import SpikeEstimator
from spikegrad.kernels import kernel_for
from spikegrad.types import check_neuron_input, full_precision


def _through_reset(
    h: torch.Tensor, centred: torch.Tensor, slope: Any, params: NeuronParameters, estimator: SpikeEstimator
) -> torch.Tensor | None:
    """``dv/dh + dv/ds * sigma'`` of :func:`~spikegrad.functional.neuron.reset` (``None`` when it is 1).

    The ``dv/ds`` term is dropped under ``detach_reset``; ``slope`` is only read when it is kept.
    """
    if params.reset is Reset.NONE or (params.reset is Reset.SUBTRACT and params.detach_reset):
        return None
    if params.reset is Reset.SUBTRACT:  # 1 - theta sigma'
        return torch.mul(slope, -params.threshold).add_(1.0)
    keep = torch.sub(1.0, estimator.forward(centred, params.strict))  # ZERO: dv/dh = 1 - s, dv/ds = -h
    return keep if params.detach_reset else keep.sub_(h * slope)


class _NeuronScan(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x, v0, i0, params: NeuronParameters, estimator: SpikeEstimator):  # type: ignore[override]
        ctx.set_materialize_grads(False)  # unused outputs (often the membrane) get no zero-filled gradient
        spikes, membrane, (v_final, i_final) = neuron_forward(x, params, NeuronState(v0, i0), estimator)
        ctx.save_for_backward(membrane)
        ctx.params, ctx.estimator = params, estimator
        return spikes, membrane, v_final, (i_final if i_final is not None else v_final.new_empty(0))

    @staticmethod
    def backward(ctx: Any, g_spikes, g_membrane, g_v, g_i):  # type: ignore[override]
        (membrane,) = ctx.saved_tensors
        params: NeuronParameters = ctx.params
        estimator: SpikeEstimator = ctx.estimator
        beta, alpha = params.mem_decay, params.syn_decay
        grad_x = torch.empty_like(membrane)
        # dL/dh_t goes straight into grad_x[t] without a synaptic current; with one, into two scratch steps
        scratch = None if alpha is None else torch.empty_like(membrane[:2])
        # the gradient reaching the state after step t is (factor * incoming); grad_x[t+1] gives the next one
        v_in, v_factor = g_v, 1.0
        i_in, i_factor = g_i, 1.0
        needs_slope = g_spikes is not None or not (params.detach_reset or params.reset is Reset.NONE)
        for t in range(membrane.shape[0] - 1, -1, -1):
            h = membrane[t]
            centred = h - params.threshold
            slope = estimator.derivative(centred) if needs_slope else None
            through = _through_reset(h, centred, slope, params, estimator)
            g_h = grad_x[t] if scratch is None else scratch[t % 2]
            started = False
            if g_spikes is not None:
                torch.mul(g_spikes[t], slope, out=g_h)
                started = True
            if v_in is not None:
                if through is None:
                    g_h.add_(v_in, alpha=v_factor) if started else torch.mul(v_in, v_factor, out=g_h)
                else:
                    g_h.addcmul_(v_in, through, value=v_factor) if started else torch.mul(v_in, through, out=g_h).mul_(v_factor)
                started = True
            if g_membrane is not None:
                g_h.add_(g_membrane[t]) if started else g_h.copy_(g_membrane[t])
                started = True
            if not started:
                g_h.zero_()
            v_in, v_factor = g_h, beta
            if scratch is not None:  # dL/di_t = dL/dh_t + alpha dL/di_{t+1}
                torch.add(g_h, i_in, alpha=i_factor, out=grad_x[t]) if i_in is not None else grad_x[t].copy_(g_h)
                i_in, i_factor = grad_x[t], alpha
        grad_v0 = None if v_in is None else v_in * v_factor
        grad_i0 = None if (alpha is None or i_in is None) else i_in * i_factor
        return grad_x, grad_v0, grad_i0, None, None


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

    Dispatch: the Triton kernel (:mod:`spikegrad.kernels.neuron_scan`) for supported CUDA calls, this
    reference elsewhere (:func:`spikegrad.kernels.kernel_for`; force either with ``use_backend``).
    """
    check_neuron_input(x, "x")
    x = full_precision(x)
    if state is None:
        state = initial_state(params, x[0])
    check_state(params, state, x.shape[1:])
    scan = kernel_for("neuron_scan", x, state.v, state.i, params, estimator) or _NeuronScan.apply
    spikes, membrane, v, i = scan(x, state.v, state.i, params, estimator)
    return NeuronOutput(spikes, membrane, NeuronState(v, i if params.syn_decay is not None else None))
