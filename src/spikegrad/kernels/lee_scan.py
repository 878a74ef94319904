r"""Fused Triton kernels of Lee et al.'s neuron scan (:func:`spikegrad.rules.lee.scan.lee_neuron_scan`), forward
and backward, registered as the torch custom op ``spikegrad::lee_scan`` with its autograd.

One program owns ``BLOCK`` neurons of the flattened ``[T, N]`` input currents and walks down time
(time-major). Forward, per step (membrane units): the shared neuron with a strict threshold and a reset to zero,

.. math:: U[t] = \lambda\,\hat V[t-1] + I[t],\qquad s[t] = H(U[t] - V_{th})\ (\text{strict}),\qquad
          \hat V[t] = U[t]\,(1 - s[t])

and, in the same walk, the leak-corrected gradient factor of :mod:`spikegrad.rules.lee.derivative`
(dimensionless over the factor's threshold):

.. math:: LF \leftarrow \lambda_G LF + s[t],\quad \gamma \leftarrow \gamma + s[t];\qquad
          G = \big(\mathbb 1[LF > \epsilon] + \ln\lambda_G\,LF/(\gamma + \mathbb 1[\gamma < \epsilon])\big)/V_G

Backward walks time in reverse. Code path: :math:`\delta U[t] = G\,g[t]\,s[t] + \delta U[t+1](1 - s[t])` with
:math:`\delta U[T] = \partial E/\partial\hat V[T]`, returned as ``dE/dI`` and, at ``t = 0``, ``dE/dV[0]``. Rate
path: every step gets :math:`G\,\frac1T\sum_t g[t]` and the state no gradient. The spikes (an output) and ``G``
(one value per neuron) are saved; nothing else. float32.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import triton
import triton.language as tl

from spikegrad.errors import ConfigError
from spikegrad.functional.neuron import NeuronParameters

BLOCK = 128  # neurons per program: one per thread of 4 warps
INTERPRETED = bool(triton.knobs.runtime.interpret)  # the kernels below were built for Triton's interpreter


@triton.jit(do_not_specialize=["steps", "n"])
def _forward_kernel(x_ptr, v_ptr, spikes_ptr, v_out_ptr, gain_ptr, steps, n, threshold, beta,
                    gain_leak, log_gain_leak, gain_threshold, eps, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    v = tl.load(v_ptr + offs, mask=mask, other=0.0)
    trace = tl.zeros([BLOCK], tl.float32)
    count = tl.zeros([BLOCK], tl.float32)
    xs, ss = x_ptr + offs, spikes_ptr + offs
    for _ in range(steps):
        u = tl.load(xs, mask=mask, other=0.0) + beta * v
        fired = u > threshold
        s = fired.to(tl.float32)
        tl.store(ss, s, mask=mask)
        v = tl.where(fired, 0.0, u)
        trace = gain_leak * trace + s
        count += s
        xs += n
        ss += n
    tl.store(v_out_ptr + offs, v, mask=mask)
    count = tl.where(count < eps, count + 1.0, count)
    gain = (trace > eps).to(tl.float32) + log_gain_leak * trace / count
    tl.store(gain_ptr + offs, gain / gain_threshold, mask=mask)


@triton.jit(do_not_specialize=["steps", "n"])
def _backward_kernel(spikes_ptr, gain_ptr, gs_ptr, gv_ptr, gx_ptr, gv0_ptr, steps, n,
                     RATE: tl.constexpr, HAS_GS: tl.constexpr, HAS_GV: tl.constexpr, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    gain = tl.load(gain_ptr + offs, mask=mask, other=0.0)
    if RATE:  # dE/dI[t] = G * mean_t g[t], the same at every step
        total = tl.zeros([BLOCK], tl.float32)
        gss = gs_ptr + offs
        for _ in range(steps):
            total += tl.load(gss, mask=mask, other=0.0)
            gss += n
        delta = gain * (total / steps)
        gxs = gx_ptr + offs
        for _ in range(steps):
            tl.store(gxs, delta, mask=mask)
            gxs += n
    else:  # dE/dU[t] = G g[t] s[t] + dE/dU[t+1] (1 - s[t]): leak detached, the reset gates the path
        last = (steps - 1).to(tl.int64) * n + offs
        ss, gss, gxs = spikes_ptr + last, gs_ptr + last, gx_ptr + last
        carry = tl.load(gv_ptr + offs, mask=mask, other=0.0) if HAS_GV else tl.zeros([BLOCK], tl.float32)
        for _ in range(steps):
            s = tl.load(ss, mask=mask, other=0.0)
            carry = carry * (1.0 - s)
            if HAS_GS:
                carry += tl.load(gss, mask=mask, other=0.0) * gain * s
            tl.store(gxs, carry, mask=mask)
            ss -= n
            gss -= n
            gxs -= n
        tl.store(gv0_ptr + offs, carry, mask=mask)


def _grid(n: int) -> tuple[int]:
    return (triton.cdiv(n, BLOCK),)


@torch.library.custom_op("spikegrad::lee_scan", mutates_args=())
def lee_scan_op(x: torch.Tensor, v0: torch.Tensor, threshold: float, beta: float, gain_leak: float,
                gain_threshold: float, eps: float, rate: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Forward scan: ``(spikes, v after the last step, gradient factor G per neuron)``; ``rate`` only shapes the
    backward pass."""
    x = x.contiguous()
    steps, n = x.shape[0], x[0].numel()
    spikes, v, gain = torch.empty_like(x), torch.empty_like(x[0]), torch.empty_like(x[0])
    _forward_kernel[_grid(n)](x, v0.contiguous(), spikes, v, gain, steps, n, threshold, beta, gain_leak,
                              math.log(gain_leak), gain_threshold, eps, BLOCK=BLOCK, num_warps=4)
    return spikes, v, gain


@lee_scan_op.register_fake
def _(x, v0, threshold, beta, gain_leak, gain_threshold, eps, rate):
    x = x.contiguous()
    return torch.empty_like(x), torch.empty_like(x[0]), torch.empty_like(x[0])


@torch.library.custom_op("spikegrad::lee_scan_backward", mutates_args=())
def lee_scan_backward_op(spikes: torch.Tensor, gain: torch.Tensor, g_spikes: torch.Tensor | None,
                         g_v: torch.Tensor | None, rate: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Lee's backward: ``(dE/dI, dE/dV[0])`` (the latter zero on the rate path); absent gradients are zero."""
    steps, n = spikes.shape[0], spikes[0].numel()
    grad_x, grad_v0 = torch.empty_like(spikes), torch.zeros_like(spikes[0])
    present = [None if g is None else g.contiguous() for g in (g_spikes, g_v)]
    _backward_kernel[_grid(n)](spikes, gain.contiguous(), *(spikes if g is None else g for g in present), grad_x,
                               grad_v0, steps, n, RATE=rate, HAS_GS=present[0] is not None,
                               HAS_GV=present[1] is not None, BLOCK=BLOCK, num_warps=4)
    return grad_x, grad_v0


@lee_scan_backward_op.register_fake
def _(spikes, gain, g_spikes, g_v, rate):
    return torch.empty_like(spikes), torch.empty_like(spikes[0])


def _setup_context(ctx: Any, inputs: tuple, output: tuple) -> None:
    ctx.set_materialize_grads(False)
    ctx.mark_non_differentiable(output[2])
    ctx.save_for_backward(output[0], output[2])
    ctx.rate = inputs[-1]


def _backward(ctx: Any, g_spikes, g_v, g_gain):
    spikes, gain = ctx.saved_tensors
    if ctx.rate and g_v is not None and bool(g_v.ne(0).any()):
        raise ConfigError("gradient", "the rate path treats one call as the whole window; "
                          "do not back-propagate through the carried membrane state")
    if ctx.rate and g_spikes is None:
        return (None,) * 8
    grad_x, grad_v0 = lee_scan_backward_op(spikes, gain, g_spikes, None if ctx.rate else g_v, ctx.rate)
    return (grad_x, None if ctx.rate else grad_v0) + (None,) * 6


lee_scan_op.register_autograd(_backward, setup_context=_setup_context)


def supports(x: torch.Tensor, v0: torch.Tensor, params: NeuronParameters,
             factor: tuple[float, float, float] | None, rate: bool) -> str | None:
    """Why the kernel cannot run this scan (a sentence), or None when it can. ``params`` is Lee's neuron (reset
    to zero, strict threshold, no current stage: the rule checks it); ``factor`` is the gradient factor's
    ``(leak, threshold, eps)``, None when the rule's factor is not the leak-corrected formula."""
    if factor is None:
        return "the gradient factor is not LeakCorrectedDerivative itself (a subclass or another object)"
    if x.dtype != torch.float32 or v0.dtype != torch.float32:
        return f"kernels run float32 only, got {sorted({str(x.dtype), str(v0.dtype)})}"
    if v0.device != x.device:
        return "input and state are on different devices"
    if x[0].numel() == 0:
        return "no neurons (an empty feature axis)"
    return None


def apply(x: torch.Tensor, v0: torch.Tensor, params: NeuronParameters, factor: tuple[float, float, float],
          rate: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """The scan as the reference's ``_LeeNeuronScan.apply`` gives it: ``(spikes, v after the last step)``."""
    spikes, v, _ = lee_scan_op(x, v0, params.threshold, params.mem_decay, *factor, rate)
    return spikes, v
