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

The neuron's own tensors (:class:`~spikegrad.functional.neuron.NeuronWeights`) and the adaptive threshold
extend the same loop. With :math:`g^{fire}_t = \sigma'_t\,(\partial L/\partial s_t + \partial L/\partial v_t\,
\partial v_t/\partial s_t)` the spike's share of :math:`\partial L/\partial h_t`:

.. math::
    \frac{\partial L}{\partial s_t} &\mathrel{+}= W_{rec}^\top \frac{\partial L}{\partial x'_{t+1}}
        + \frac{\partial L}{\partial a_{t+1}},\qquad
    \frac{\partial L}{\partial \vartheta_t} = -g^{fire}_t - s_t \frac{\partial L}{\partial v_t}\ \text{(subtraction;
        the last term only)},\\
    \frac{\partial L}{\partial a_t} &= \rho\,\frac{\partial L}{\partial a_{t+1}} + b\,\frac{\partial L}{\partial \vartheta_t},
    \qquad \frac{\partial L}{\partial \beta} = \sum_t \frac{\partial L}{\partial h_t} v_{t-1},\qquad
    \frac{\partial L}{\partial \vartheta_0} = \sum_t \frac{\partial L}{\partial \vartheta_t},\qquad
    \frac{\partial L}{\partial W_{rec}} = \sum_t \frac{\partial L}{\partial x'_t} s_{t-1}^\top

(sums also over the batch and, for a per-layer tensor, the neurons). The spike's path into the adaptation
and the recurrence is kept under ``detach_reset``, which detaches the reset only. The forward pass then
also keeps the spikes and, for an adaptive neuron, the threshold of every step; ``v_{t-1}`` is recomputed
from them by the forward's own reset.
"""

from __future__ import annotations

from typing import Any

import torch

from spikegrad.errors import ConfigError
from spikegrad.functional.neuron import (
    NO_WEIGHTS,
    NeuronOutput,
    NeuronParameters,
    NeuronState,
    NeuronWeights,
    Reset,
    Threshold,
    check_state,
    check_weights,
    initial_state,
    neuron_forward,
    reset,
)
from spikegrad.grad.base import SpikeEstimator
from spikegrad.kernels import kernel_for
from spikegrad.types import check_neuron_input, full_precision


def _through_reset(
    h: torch.Tensor, centred: torch.Tensor, slope: Any, params: NeuronParameters, estimator: SpikeEstimator,
    threshold: Threshold,
) -> torch.Tensor | None:
    """``dv/dh + dv/ds * sigma'`` of :func:`~spikegrad.functional.neuron.reset` (``None`` when it is 1).

    The ``dv/ds`` term is dropped under ``detach_reset``; ``slope`` is only read when it is kept.
    """
    if params.reset is Reset.NONE or (params.reset is Reset.SUBTRACT and params.detach_reset):
        return None
    if params.reset is Reset.SUBTRACT:  # 1 - theta sigma'
        return torch.mul(slope, -threshold).add_(1.0)
    keep = torch.sub(1.0, estimator.forward(centred, params.strict))  # ZERO: dv/dh = 1 - s, dv/ds = -h
    return keep if params.detach_reset else keep.sub_(h * slope)


def _threshold_gradient(h, s, threshold: Threshold, slope, g_s, g_v, params: NeuronParameters) -> torch.Tensor:
    """``dL/dtheta_t = -sigma' (dL/ds_t + dL/dv_t dv_t/ds_t) + dL/dv_t dv_t/dtheta_t`` of one step.

    ``g_s``: the gradient reaching the spike from outside the reset (or None); ``g_v``: the gradient reaching
    the membrane after reset (or None).
    """
    g_fire = torch.zeros_like(h) if g_s is None else g_s.clone()
    if g_v is not None and not params.detach_reset:
        if params.reset is Reset.SUBTRACT:  # dv/ds = -theta
            g_fire.sub_(g_v * threshold)
        elif params.reset is Reset.ZERO:  # dv/ds = -h
            g_fire.sub_(g_v * h)
    g_theta = g_fire.mul_(slope).neg_()
    if g_v is not None and params.reset is Reset.SUBTRACT:  # v = h - theta s: dv/dtheta = -s
        g_theta.sub_(g_v * s)
    return g_theta


class _NeuronScan(torch.autograd.Function):
    """Forward and O(T) backward of the shared neuron. Called with five inputs for a plain neuron (four
    outputs), or with the adaptation and last-spike states and the neuron's own tensors too (six outputs)."""

    @staticmethod
    def forward(ctx: Any, x, v0, i0, params: NeuronParameters, estimator: SpikeEstimator,  # type: ignore[override]
                a0=None, s0=None, decay=None, threshold=None, recurrent=None, extended=False):
        ctx.set_materialize_grads(False)  # unused outputs (often the membrane) get no zero-filled gradient
        weights = NeuronWeights(decay, threshold, recurrent)
        thresholds = torch.empty_like(x) if params.adaptation is not None else None
        with torch.autocast(x.device.type, enabled=False):  # the recurrent matmul too stays in x's precision
            spikes, membrane, final = neuron_forward(x, params, NeuronState(v0, i0, a0, s0), estimator,
                                                     weights=weights, thresholds=thresholds)
        ctx.params, ctx.estimator, ctx.extended = params, estimator, extended
        empty = final.v.new_empty(0)
        i_final = final.i if final.i is not None else empty
        if not extended:
            ctx.save_for_backward(membrane)
            return spikes, membrane, final.v, i_final
        ctx.save_for_backward(membrane, spikes, thresholds, v0, s0, decay, threshold, recurrent)
        return (spikes, membrane, final.v, i_final, final.a if final.a is not None else empty,
                final.s if final.s is not None else empty)

    @staticmethod
    def backward(ctx: Any, g_spikes, g_membrane, g_v, g_i, g_a=None, g_s=None):  # type: ignore[override]
        params: NeuronParameters = ctx.params
        estimator: SpikeEstimator = ctx.estimator
        if ctx.extended:
            membrane, spikes, thresholds, v0, s0, decay, threshold, recurrent = ctx.saved_tensors
        else:
            (membrane,) = ctx.saved_tensors
            spikes = thresholds = v0 = s0 = decay = threshold = recurrent = None
        beta, alpha, adaptation = params.mem_decay, params.syn_decay, params.adaptation
        base = params.threshold if threshold is None else threshold
        learn_decay, learn_threshold = ctx.extended and ctx.needs_input_grad[7], ctx.extended and ctx.needs_input_grad[8]
        grad_decay = torch.zeros_like(membrane[0]) if learn_decay else None
        grad_threshold = torch.zeros_like(membrane[0]) if learn_threshold else None
        grad_x = torch.empty_like(membrane)
        # dL/dh_t goes straight into grad_x[t] without a synaptic current; with one, into two scratch steps
        scratch = None if alpha is None else torch.empty_like(membrane[:2])
        # the gradient reaching the state after step t is (factor * incoming); grad_x[t+1] gives the next one
        v_in, v_factor = g_v, 1.0
        i_in, i_factor = g_i, 1.0
        a_in, s_in = g_a, g_s  # gradients reaching a_{t+1} and s_t (adaptive, recurrent neurons)
        needs_slope = ctx.extended or g_spikes is not None or not (params.detach_reset or params.reset is Reset.NONE)
        for t in range(membrane.shape[0] - 1, -1, -1):
            h = membrane[t]
            theta = thresholds[t] if thresholds is not None else base
            centred = h - theta
            slope = estimator.derivative(centred) if needs_slope else None
            through = _through_reset(h, centred, slope, params, estimator, theta)
            g_s_t = _total(g_spikes[t] if g_spikes is not None else None, a_in, s_in)
            g_theta = None
            if adaptation is not None or learn_threshold:
                g_v_t = None if v_in is None else v_in * v_factor
                g_theta = _threshold_gradient(h, spikes[t], theta, slope, g_s_t, g_v_t, params)
            g_h = grad_x[t] if scratch is None else scratch[t % 2]
            started = False
            if g_s_t is not None:
                torch.mul(g_s_t, slope, out=g_h)
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
            if grad_decay is not None:  # dL/dbeta += dL/dh_t v_{t-1}
                v_prev = v0 if t == 0 else reset(membrane[t - 1], spikes[t - 1], params,
                                                 threshold=thresholds[t - 1] if thresholds is not None else base)
                grad_decay.addcmul_(g_h, v_prev)
            if grad_threshold is not None:
                grad_threshold.add_(g_theta)
            if adaptation is not None:  # dL/da_t = rho dL/da_{t+1} + b dL/dtheta_t
                a_in = g_theta.mul_(adaptation.strength) if a_in is None else g_theta.mul_(adaptation.strength).add_(a_in, alpha=adaptation.decay)
            v_in, v_factor = (g_h, beta) if decay is None else (g_h * decay, 1.0)
            if scratch is not None:  # dL/di_t = dL/dh_t + alpha dL/di_{t+1}
                torch.add(g_h, i_in, alpha=i_factor, out=grad_x[t]) if i_in is not None else grad_x[t].copy_(g_h)
                i_in, i_factor = grad_x[t], alpha
            if recurrent is not None:  # dL/ds_{t-1} from x'_t = x_t + W_rec s_{t-1}
                s_in = grad_x[t] @ recurrent
        grad_v0 = None if v_in is None else v_in * v_factor
        grad_i0 = None if (alpha is None or i_in is None) else i_in * i_factor
        if not ctx.extended:
            return grad_x, grad_v0, grad_i0, None, None
        grad_w = None
        if recurrent is not None and ctx.needs_input_grad[9]:
            s_prev = torch.cat([s0.unsqueeze(0), spikes[:-1]])
            grad_w = grad_x.flatten(0, -2).t() @ s_prev.flatten(0, -2)
        return (grad_x, grad_v0, grad_i0, None, None, a_in, s_in if recurrent is not None else None,
                None if grad_decay is None else grad_decay.sum_to_size(decay.shape),
                None if grad_threshold is None else grad_threshold.sum_to_size(threshold.shape), grad_w, None)


def _total(*grads: torch.Tensor | None) -> torch.Tensor | None:
    """The sum of the gradients that are not None (None when all are); the first is not modified."""
    present = [g for g in grads if g is not None]
    if len(present) <= 1:
        return present[0] if present else None
    total = present[0] + present[1]
    for g in present[2:]:
        total.add_(g)
    return total


def neuron_scan(
    x: torch.Tensor,
    params: NeuronParameters,
    estimator: SpikeEstimator,
    state: NeuronState | None = None,
    weights: NeuronWeights = NO_WEIGHTS,
    compiled: bool = False,
) -> NeuronOutput:
    """Run a neuron over a whole sequence ``x[T, B, ...]`` (input current per step).

    Args:
        x: input currents, time first, ``[T, B, ...]``.
        params: neuron parameters (:class:`LIFParameters`, :class:`IFParameters`, :class:`CUBAParameters`,
            :class:`ALIFParameters`).
        estimator: spike-derivative estimator used in the backward pass.
        state: state before the first step (zeros if None); its tensors are ``[B, ...]``.
        weights: the neuron's own tensors (trainable decay and threshold, recurrent weights), with their
            gradients computed by the same backward pass.
        compiled: run the backward pass compiled for the CPU (:mod:`spikegrad.functional.compiled_scan`); a
            call it does not cover raises :class:`~spikegrad.errors.ConfigError` (option ``compile``).

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
        state = initial_state(params, x[0], weights)
    check_state(params, state, x.shape[1:], weights)
    if compiled:
        from spikegrad.functional.compiled_scan import compiled_neuron_scan, unsupported

        reason = unsupported(x, params, any(w is not None for w in weights))
        if reason is not None:
            raise ConfigError("compile", f"the compiled neuron scan backward cannot run this call: {reason}")
        spikes, membrane, v, i = compiled_neuron_scan(x, state.v, state.i, params, estimator)
        return NeuronOutput(spikes, membrane, NeuronState(v, i if params.syn_decay is not None else None))
    kernel = kernel_for("neuron_scan", x, state.v, state.i, params, estimator, weights)
    if kernel is not None:  # a plain neuron: the kernel's supports refuses adaptation and the own tensors
        spikes, membrane, v, i = kernel(x, state.v, state.i, params, estimator)
    elif params.adaptation is not None or any(w is not None for w in weights):
        check_weights(weights, x.shape[1:], x.dtype)
        spikes, membrane, v, i, a, s = _NeuronScan.apply(x, state.v, state.i, params, estimator, state.a, state.s,
                                                         *weights, True)
        return NeuronOutput(spikes, membrane, NeuronState(v, i if params.syn_decay is not None else None,
                                                          a if params.adaptation is not None else None,
                                                          s if weights.recurrent is not None else None))
    else:
        spikes, membrane, v, i = _NeuronScan.apply(x, state.v, state.i, params, estimator)
    return NeuronOutput(spikes, membrane, NeuronState(v, i if params.syn_decay is not None else None))
