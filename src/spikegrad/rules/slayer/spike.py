r"""SLAYER's spike function: threshold scan with the refractory kernel added after each spike.

For a membrane potential ``u[T, ...]`` (the PSP of the layer's input), scanning ``n = 0..T-1`` per neuron:

.. math::
    s[n] = H(u[n] - \vartheta), \qquad u[n + j] \mathrel{+}= \nu[j]\, s[n] \quad (j = 0..K_\nu - 1)

exactly as slayerPytorch's ``getSpikes`` kernel (``nu[0] = 0``, so a spike changes only later bins).
The caller's ``u`` is not modified; the post-refractory potential is kept for the backward pass.

**Gradient** (``_spikeFunction.backward`` of the original): the surrogate is evaluated on the
post-refractory potential and no gradient flows through the refractory path. The original's spikes have
amplitude ``1/Ts`` with ``ds/du = rho(u)``; spikegrad's spikes are 0/1 (``Ts`` times smaller), so

.. math:: \frac{\partial s}{\partial u}[n] = T_s\,\rho\big(u_{post}[n] - \vartheta\big)

which gives the original's weight gradients exactly. ``rho`` is the estimator's ``derivative``
(SLAYER's :class:`~spikegrad.grad.ExponentialPDF`, see :meth:`SRMParameters.estimator`); the forward is
always the threshold test above, whatever the estimator.

**State.** Refractory responses of spikes near the end of a call reach past it; they are returned as
``pending[K_nu - 1, ...]`` and added to the start of the next call, so chunked calls equal one call.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch

from spikegrad.errors import ShapeError
from spikegrad.grad.base import SpikeEstimator
from spikegrad.kernels import kernel_for
from spikegrad.rules.slayer.srm import SRMParameters


class SpikeOutput(NamedTuple):
    """``spikes`` (0/1, ``[T, ...]``), ``membrane`` (post-refractory ``u``, ``[T, ...]``) and ``pending``.

    ``pending[K_nu - 1, ...]``: refractory contributions already scheduled for the bins after the call.
    """

    spikes: torch.Tensor
    membrane: torch.Tensor
    pending: torch.Tensor


class _SLAYERSpike(torch.autograd.Function):
    @staticmethod
    def forward(u, refractory, pending, theta, ts, estimator):  # type: ignore[override]
        steps, taps = u.shape[0], refractory.numel()
        flat = u.reshape(steps, -1)  # [T, neurons]: 2-D views keep the per-step ops on the fast path
        buffer = flat.new_zeros((steps + taps - 1, flat.shape[1]))
        buffer[:steps] = flat
        buffer[: taps - 1] += pending.reshape(taps - 1, flat.shape[1])
        nu = refractory.to(u.dtype).view(taps, 1)
        spikes = torch.empty_like(flat)
        rows, fired = buffer.unbind(0), spikes.unbind(0)
        for n in range(steps):
            torch.ge(rows[n], theta, out=fired[n])  # bool written as 0/1 in u's dtype
            buffer[n : n + taps].addcmul_(nu, fired[n].unsqueeze(0))
        shape = u.shape[1:]
        return spikes.view(u.shape), buffer[:steps].view(u.shape), buffer[steps:].clone().view(taps - 1, *shape)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: tuple) -> None:
        *_, theta, ts, estimator = inputs
        ctx.save_for_backward(output[1])
        ctx.theta, ctx.ts, ctx.estimator = theta, ts, estimator
        ctx.mark_non_differentiable(output[1], output[2])
        ctx.set_materialize_grads(False)  # no zero-filled gradients for them (or for unused spikes)

    @staticmethod
    def backward(ctx: Any, grad_spikes, grad_membrane, grad_pending):  # type: ignore[override]
        if grad_spikes is None:
            return None, None, None, None, None, None
        (membrane,) = ctx.saved_tensors
        grad_u = ctx.estimator.derivative(membrane - ctx.theta).mul_(grad_spikes)
        if ctx.ts != 1.0:
            grad_u.mul_(ctx.ts)
        return grad_u, None, None, None, None, None


def slayer_spike(
    u: torch.Tensor,
    params: SRMParameters,
    estimator: SpikeEstimator | None = None,
    pending: torch.Tensor | None = None,
) -> SpikeOutput:
    """Spikes of membrane potentials ``u[T, ...]`` with SLAYER's refractory response (module docstring).

    Args:
        u: membrane potential before refractoriness, time first.
        params: threshold, refractory kernel and ``Ts``.
        estimator: surrogate ``rho`` (default :meth:`SRMParameters.estimator`, SLAYER's PDF).
        pending: refractory contributions carried from a previous call (``[K_nu - 1, ...]``; zeros if None).

    Dispatch: the Triton kernel (:mod:`spikegrad.kernels.srm_spike`) for supported CUDA calls, this reference
    elsewhere (:func:`spikegrad.kernels.kernel_for`).
    """
    if u.dim() < 1 or u.shape[0] == 0:
        raise ShapeError("slayer_spike input", "[T, ...] (time first, T >= 1)", tuple(u.shape))
    kernel = params.refractory_kernel
    refractory = kernel.tensor(u.dtype, u.device)
    pending_shape = (kernel.length - 1, *u.shape[1:])
    if pending is None:
        pending = u.new_zeros(pending_shape)
    elif tuple(pending.shape) != pending_shape:
        raise ShapeError("pending", f"{list(pending_shape)} ([K_nu - 1] + one step of u)", tuple(pending.shape))
    estimator = estimator if estimator is not None else params.estimator()
    scan = kernel_for("srm_spike", u, refractory, pending, params.theta, params.ts, estimator) or _SLAYERSpike.apply
    spikes, membrane, carried = scan(u, refractory, pending.detach(), params.theta, params.ts, estimator)
    return SpikeOutput(spikes, membrane, carried)
