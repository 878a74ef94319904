r"""Fused Triton kernels of SLAYER's spike function with its refractory response
(:func:`spikegrad.rules.slayer.spike.slayer_spike`), registered as the torch custom op ``spikegrad::srm_spike``.

One program owns ``BLOCK`` neurons of the flattened membrane ``u[T, N]`` and walks time in a buffer
``[T + K_nu - 1, N]`` that holds ``u`` plus the carried ``pending`` responses (membrane units):

.. math:: s[n] = H(u[n] - \vartheta),\qquad u[n + j] \mathrel{+}= \nu[j]\,s[n]\quad (j = 0..K_\nu - 1)

The refractory additions are loads and stores masked by the spike, so a silent neuron costs one load per
step. Backward (the original's ``_spikeFunction``): :math:`\partial s/\partial u[n] = T_s\,\rho(u_{post}[n] -
\vartheta)` times the incoming gradient, with :math:`\rho` the estimator's derivative
(:mod:`spikegrad.kernels.surrogates`); nothing flows through the refractory path or ``pending``. float32.
"""

from __future__ import annotations

from typing import Any

import torch
import triton
import triton.language as tl

from spikegrad.grad.base import SpikeEstimator
from spikegrad.kernels.surrogates import derivative, estimator_code

BLOCK = 128  # neurons per program: one per thread of 4 warps
INTERPRETED = bool(triton.knobs.runtime.interpret)  # the kernels below were built for Triton's interpreter


@triton.jit(do_not_specialize=["steps", "taps", "n"])
def _spike_kernel(buffer_ptr, nu_ptr, spikes_ptr, steps, taps, n, theta, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    rows, ss = buffer_ptr + offs, spikes_ptr + offs
    for _ in range(steps):
        fired = tl.load(rows, mask=mask, other=0.0) >= theta
        tl.store(ss, fired.to(tl.float32), mask=mask)
        hit = mask & fired
        later = rows
        for j in range(taps):  # u[n + j] += nu[j] where the neuron fired
            tl.store(later, tl.load(later, mask=hit, other=0.0) + tl.load(nu_ptr + j), mask=hit)
            later += n
        rows += n
        ss += n


@triton.jit
def _gradient_kernel(membrane_ptr, grad_ptr, out_ptr, total, theta, ts, p0, p1, KIND: tl.constexpr,
                     BLOCK: tl.constexpr):
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < total
    slope = derivative(tl.load(membrane_ptr + offs, mask=mask, other=0.0) - theta, KIND, p0, p1)
    tl.store(out_ptr + offs, slope * tl.load(grad_ptr + offs, mask=mask, other=0.0) * ts, mask=mask)


@torch.library.custom_op("spikegrad::srm_spike", mutates_args=())
def srm_spike_op(u: torch.Tensor, refractory: torch.Tensor, pending: torch.Tensor, theta: float, ts: float,
                 kind: int, p0: float, p1: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(spikes, post-refractory membrane, pending[K_nu - 1, ...])``; ``kind, p0, p1`` shape the backward."""
    steps, taps = u.shape[0], refractory.numel()
    flat = u.reshape(steps, -1)
    buffer = flat.new_zeros((steps + taps - 1, flat.shape[1]))
    buffer[:steps] = flat
    buffer[: taps - 1] += pending.reshape(taps - 1, flat.shape[1])
    spikes = torch.empty_like(flat)
    n = flat.shape[1]
    _spike_kernel[(triton.cdiv(n, BLOCK),)](buffer, refractory.contiguous(), spikes, steps, taps, n, theta,
                                            BLOCK=BLOCK, num_warps=4)
    return spikes.view(u.shape), buffer[:steps].view(u.shape), buffer[steps:].clone().view(pending.shape)


@srm_spike_op.register_fake
def _(u, refractory, pending, theta, ts, kind, p0, p1):
    return torch.empty_like(u), torch.empty_like(u), torch.empty_like(pending)


@torch.library.custom_op("spikegrad::srm_spike_backward", mutates_args=())
def srm_spike_backward_op(membrane: torch.Tensor, grad_spikes: torch.Tensor, theta: float, ts: float, kind: int,
                          p0: float, p1: float) -> torch.Tensor:
    """``Ts * rho(membrane - theta) * grad_spikes``, elementwise."""
    membrane, grad_spikes = membrane.contiguous(), grad_spikes.contiguous()
    out = torch.empty_like(membrane)
    total = membrane.numel()
    _gradient_kernel[(triton.cdiv(total, 1024),)](membrane, grad_spikes, out, total, theta, ts, p0, p1, KIND=kind,
                                                   BLOCK=1024, num_warps=4)
    return out


@srm_spike_backward_op.register_fake
def _(membrane, grad_spikes, theta, ts, kind, p0, p1):
    return torch.empty_like(membrane.contiguous())


def _setup_context(ctx: Any, inputs: tuple, output: tuple) -> None:
    ctx.set_materialize_grads(False)
    ctx.mark_non_differentiable(output[1], output[2])
    ctx.save_for_backward(output[1])
    ctx.config = inputs[3:]


def _backward(ctx: Any, grad_spikes, grad_membrane, grad_pending):
    none = (None,) * (2 + len(ctx.config))
    if grad_spikes is None:
        return (None,) + none
    (membrane,) = ctx.saved_tensors
    return (srm_spike_backward_op(membrane, grad_spikes, *ctx.config),) + none


srm_spike_op.register_autograd(_backward, setup_context=_setup_context)


def supports(u: torch.Tensor, refractory: torch.Tensor, pending: torch.Tensor, theta: float, ts: float,
             estimator: SpikeEstimator) -> str | None:
    """Why the kernel cannot run this call (a sentence), or None when it can."""
    if estimator_code(estimator) is None:
        return f"no kernel code for the estimator {type(estimator).__name__}; the catalogue's classes have one"
    if any(t.dtype != torch.float32 for t in (u, refractory, pending)):
        return f"kernels run float32 only, got {u.dtype}"
    if u[0].numel() == 0:
        return "no neurons (an empty feature axis)"
    return None


def apply(u: torch.Tensor, refractory: torch.Tensor, pending: torch.Tensor, theta: float, ts: float,
          estimator: SpikeEstimator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The spike function as the reference's ``_SLAYERSpike.apply`` gives it: ``(spikes, membrane, pending)``."""
    kind, p0, p1 = estimator_code(estimator)  # type: ignore[misc]
    return srm_spike_op(u, refractory, pending, theta, ts, kind, p0, p1)
