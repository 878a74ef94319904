r"""Fused Triton kernels of the shared neuron scan (:func:`spikegrad.functional.scan.neuron_scan`), forward and
backward, registered as the torch custom op ``spikegrad::neuron_scan`` with its autograd.

One program owns ``BLOCK`` neurons of the flattened ``[T, N]`` input (``N = B * features``) and walks down
time (time-major: each step reads one coalesced row). Forward, per step (membrane units, ``dt`` folded into
the decays ``beta``, ``alpha`` of :mod:`spikegrad.functional.neuron`):

.. math::
    i_t = \alpha i_{t-1} + x_t\ \text{(CUBA)},\quad h_t = \beta v_{t-1} + i_t,\quad s_t = H(h_t - \vartheta),\quad
    v_t = h_t - \vartheta s_t \ \big|\ h_t (1 - s_t)\ \big|\ h_t

Backward walks time in reverse with the reference's adjoint (:mod:`spikegrad.functional.scan`):
:math:`g^h_t = g^s_t \sigma'_t + g^v_t\,\partial v_t/\partial h_t + g^{h,\mathrm{out}}_t`,
:math:`g^v_{t-1} = \beta g^h_t`, :math:`g^x_t = g^h_t + \alpha g^x_{t+1}` (CUBA) or :math:`g^h_t`, where
:math:`\sigma'` is the estimator's derivative (:mod:`spikegrad.kernels.surrogates`). Like the reference, only
the membrane ``h`` (float32) is saved; spikes and slopes are recomputed from it in the backward pass.

Supported: float32 tensors, every :class:`~spikegrad.functional.neuron.Reset`, strict or not, ``detach_reset``,
LIF/IF/CUBA, and the six estimators of :mod:`spikegrad.grad.surrogates` (exact classes). :func:`supports`
names what else is refused (among it the adaptive threshold, trainable decay or threshold and recurrent
weights); the registry then runs the reference.
"""

from __future__ import annotations

from typing import Any

import torch
import triton
import triton.language as tl

from spikegrad.functional.neuron import NO_WEIGHTS, NeuronParameters, NeuronWeights, Reset
from spikegrad.grad.base import SpikeEstimator
from spikegrad.kernels.surrogates import derivative, estimator_code

SUBTRACT, ZERO, NONE = (tl.constexpr(k) for k in range(3))
_RESET_CODE = {Reset.SUBTRACT: SUBTRACT.value, Reset.ZERO: ZERO.value, Reset.NONE: NONE.value}
BLOCK = 128  # neurons per program: one per thread of 4 warps
INTERPRETED = bool(triton.knobs.runtime.interpret)  # the kernels below were built for Triton's interpreter


@triton.jit(do_not_specialize=["steps", "n"])
def _forward_kernel(x_ptr, v_ptr, i_ptr, spikes_ptr, h_ptr, v_out_ptr, i_out_ptr, steps, n,
                    threshold, beta, alpha,
                    RESET: tl.constexpr, STRICT: tl.constexpr, CURRENT: tl.constexpr, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    v = tl.load(v_ptr + offs, mask=mask, other=0.0)
    if CURRENT:
        i = tl.load(i_ptr + offs, mask=mask, other=0.0)
    xs, hs, ss = x_ptr + offs, h_ptr + offs, spikes_ptr + offs
    for _ in range(steps):
        current = tl.load(xs, mask=mask, other=0.0)
        if CURRENT:
            i = current + alpha * i
            current = i
        h = current + beta * v
        fired = h > threshold if STRICT else h >= threshold
        tl.store(hs, h, mask=mask)
        tl.store(ss, fired.to(tl.float32), mask=mask)
        if RESET == SUBTRACT:
            v = h - threshold * fired.to(tl.float32)
        elif RESET == ZERO:
            v = tl.where(fired, 0.0, h)
        else:
            v = h
        xs += n
        hs += n
        ss += n
    tl.store(v_out_ptr + offs, v, mask=mask)
    if CURRENT:
        tl.store(i_out_ptr + offs, i, mask=mask)


@triton.jit(do_not_specialize=["steps", "n"])
def _backward_kernel(h_ptr, gs_ptr, gh_ptr, gv_ptr, gi_ptr, gx_ptr, gv0_ptr, gi0_ptr, steps, n,
                     threshold, beta, alpha, p0, p1,
                     RESET: tl.constexpr, STRICT: tl.constexpr, DETACH: tl.constexpr, CURRENT: tl.constexpr,
                     KIND: tl.constexpr, HAS_GS: tl.constexpr, HAS_GH: tl.constexpr, HAS_GV: tl.constexpr,
                     HAS_GI: tl.constexpr, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    last = (steps - 1).to(tl.int64) * n + offs
    hs, gss, ghs, gxs = h_ptr + last, gs_ptr + last, gh_ptr + last, gx_ptr + last
    g_v = tl.load(gv_ptr + offs, mask=mask, other=0.0) if HAS_GV else tl.zeros([BLOCK], tl.float32)
    if CURRENT:  # alpha * dL/dx_{t+1} (the gradient reaching i_t), or the incoming g_i before the last step
        g_i = tl.load(gi_ptr + offs, mask=mask, other=0.0) if HAS_GI else tl.zeros([BLOCK], tl.float32)
    for _ in range(steps):
        h = tl.load(hs, mask=mask, other=0.0)
        centred = h - threshold
        slope = derivative(centred, KIND, p0, p1)
        if RESET == SUBTRACT and not DETACH:
            g_h = g_v * (slope * -threshold + 1.0)
        elif RESET == ZERO:
            keep = tl.where(centred > 0.0 if STRICT else centred >= 0.0, 0.0, 1.0)
            if not DETACH:
                keep = keep - h * slope
            g_h = g_v * keep
        else:
            g_h = g_v
        if HAS_GS:
            g_h += tl.load(gss, mask=mask, other=0.0) * slope
        if HAS_GH:
            g_h += tl.load(ghs, mask=mask, other=0.0)
        if CURRENT:
            g_i = g_h + g_i
            tl.store(gxs, g_i, mask=mask)
            g_i = alpha * g_i
        else:
            tl.store(gxs, g_h, mask=mask)
        g_v = beta * g_h
        hs -= n
        gss -= n
        ghs -= n
        gxs -= n
    tl.store(gv0_ptr + offs, g_v, mask=mask)
    if CURRENT:
        tl.store(gi0_ptr + offs, g_i, mask=mask)


def _grid(n: int) -> tuple[int]:
    return (triton.cdiv(n, BLOCK),)


@torch.library.custom_op("spikegrad::neuron_scan", mutates_args=())
def neuron_scan_op(
    x: torch.Tensor, v0: torch.Tensor, i0: torch.Tensor | None, threshold: float, beta: float, alpha: float | None,
    reset: int, strict: bool, detach_reset: bool, kind: int, p0: float, p1: float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Forward scan: ``(spikes, membrane h, v after the last step, i after it or an empty tensor)``.

    ``detach_reset``, ``kind``, ``p0``, ``p1`` only shape the backward pass; they are inputs so that the
    autograd formula sees them.
    """
    x = x.contiguous()
    steps, n = x.shape[0], x[0].numel()
    spikes, membrane = torch.empty_like(x), torch.empty_like(x)
    v = torch.empty_like(x[0])
    i = torch.empty_like(x[0]) if alpha is not None else x.new_empty(0)
    _forward_kernel[_grid(n)](
        x, v0.contiguous(), v0 if i0 is None else i0.contiguous(), spikes, membrane, v, i, steps, n,
        threshold, beta, 0.0 if alpha is None else alpha,
        RESET=reset, STRICT=strict, CURRENT=alpha is not None, BLOCK=BLOCK, num_warps=4,
    )
    return spikes, membrane, v, i


@neuron_scan_op.register_fake
def _(x, v0, i0, threshold, beta, alpha, reset, strict, detach_reset, kind, p0, p1):
    x = x.contiguous()
    return (torch.empty_like(x), torch.empty_like(x), torch.empty_like(x[0]),
            torch.empty_like(x[0]) if alpha is not None else x.new_empty(0))


@torch.library.custom_op("spikegrad::neuron_scan_backward", mutates_args=())
def neuron_scan_backward_op(
    membrane: torch.Tensor, g_spikes: torch.Tensor | None, g_membrane: torch.Tensor | None,
    g_v: torch.Tensor | None, g_i: torch.Tensor | None, threshold: float, beta: float, alpha: float | None,
    reset: int, strict: bool, detach_reset: bool, kind: int, p0: float, p1: float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Reverse-time adjoint: ``(dL/dx, dL/dv0, dL/di0 or an empty tensor)``; absent gradients are zero."""
    steps, n = membrane.shape[0], membrane[0].numel()
    grad_x = torch.empty_like(membrane)
    grad_v0 = torch.empty_like(membrane[0])
    grad_i0 = torch.empty_like(membrane[0]) if alpha is not None else membrane.new_empty(0)
    present = [None if g is None else g.contiguous() for g in (g_spikes, g_membrane, g_v, g_i)]
    _backward_kernel[_grid(n)](
        membrane, *(membrane if g is None else g for g in present), grad_x, grad_v0, grad_i0, steps, n,
        threshold, beta, 0.0 if alpha is None else alpha, p0, p1,
        RESET=reset, STRICT=strict, DETACH=detach_reset, CURRENT=alpha is not None, KIND=kind,
        HAS_GS=present[0] is not None, HAS_GH=present[1] is not None, HAS_GV=present[2] is not None,
        HAS_GI=present[3] is not None and alpha is not None, BLOCK=BLOCK, num_warps=4,
    )
    return grad_x, grad_v0, grad_i0


@neuron_scan_backward_op.register_fake
def _(membrane, g_spikes, g_membrane, g_v, g_i, threshold, beta, alpha, reset, strict, detach_reset, kind, p0, p1):
    return (torch.empty_like(membrane), torch.empty_like(membrane[0]),
            torch.empty_like(membrane[0]) if alpha is not None else membrane.new_empty(0))


def _setup_context(ctx: Any, inputs: tuple, output: tuple) -> None:
    ctx.set_materialize_grads(False)  # unused outputs (often the membrane) cost no zero-filled gradient
    ctx.save_for_backward(output[1])  # the membrane h, as the reference saves it; spikes are recomputed
    ctx.config = inputs[3:]


def _backward(ctx: Any, g_spikes, g_membrane, g_v, g_i):
    (membrane,) = ctx.saved_tensors
    alpha = ctx.config[2]
    grad_x, grad_v0, grad_i0 = neuron_scan_backward_op(membrane, g_spikes, g_membrane, g_v, g_i, *ctx.config)
    return (grad_x, grad_v0, grad_i0 if alpha is not None else None) + (None,) * len(ctx.config)


neuron_scan_op.register_autograd(_backward, setup_context=_setup_context)


def supports(x: torch.Tensor, v0: torch.Tensor, i0: torch.Tensor | None, params: NeuronParameters,
             estimator: SpikeEstimator, weights: NeuronWeights = NO_WEIGHTS) -> str | None:
    """Why the kernel cannot run this scan (a sentence), or None when it can.

    ``weights`` are the neuron's own tensors the scan was given; the kernel runs none of them.
    """
    if params.adaptation is not None:
        return "no kernel for the adaptive threshold (ALIF); the reference scan runs it"
    own = [name for name, tensor in weights._asdict().items() if tensor is not None]
    if own:
        return f"no kernel for the neuron's own tensors ({', '.join(own)}); the reference scan runs them"
    if estimator_code(estimator) is None:
        return f"no kernel code for the estimator {type(estimator).__name__}; the catalogue's classes have one"
    tensors = [x, v0] + ([] if i0 is None else [i0])
    if any(t.dtype != torch.float32 for t in tensors):
        return f"kernels run float32 only, got {sorted({str(t.dtype) for t in tensors})}"
    if any(t.device != x.device for t in tensors):
        return "input and state are on different devices"
    if x[0].numel() == 0:
        return "no neurons (an empty feature axis)"
    return None


def apply(x: torch.Tensor, v0: torch.Tensor, i0: torch.Tensor | None, params: NeuronParameters,
          estimator: SpikeEstimator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The scan as the reference's ``_NeuronScan.apply`` gives it: ``(spikes, membrane, v, i or empty)``."""
    kind, p0, p1 = estimator_code(estimator)  # type: ignore[misc]
    return neuron_scan_op(x, v0, i0, params.threshold, params.mem_decay, params.syn_decay,
                          _RESET_CODE[params.reset], params.strict, params.detach_reset, kind, p0, p1)
