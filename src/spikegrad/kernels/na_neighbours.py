r"""Fused Triton kernel of NA's neighbour re-simulation (:func:`spikegrad.rules.na.neighbours.neighbour_loss_changes`),
registered as the torch custom op ``spikegrad::na_neighbours``.

Neighbour ``k`` of a neuron is its forward pass with the firing state at step ``k`` flipped; its membrane after
the flip is :math:`\vartheta s[k]` and it is re-simulated to the end of the window on the stored currents
(membrane units, strict threshold, reset to zero):

.. math:: u_k[t] = \lambda v_k[t-1] + I[t],\quad s_k[t] = H(u_k[t] - \vartheta),\quad v_k[t] = u_k[t](1 - s_k[t])
          \qquad (t > k)

One program owns a tile of ``BLOCK_K`` neighbours x ``BLOCK_N`` neurons and walks time from its first
neighbour's flip, loading each step's currents once for all its neighbours (vectorised over neighbours); a
neighbour moves from the step after its own. It accumulates the loss change (loss units per spike weight
``w``) and, when asked, the squared trace difference (``1/tau_s`` is the trace's jump per spike):

.. math:: P[k] = (1 - 2s[k])\,w[k] + \sum_{t>k}(s_k[t] - s[t])\,w[t],\qquad
          Q[k] = \sum_{t\ge k} d_k[t]^2,\quad d_k[k] = \frac{1 - 2s[k]}{\tau_s},\
          d_k[t] = \Big(1 - \frac1{\tau_s}\Big) d_k[t-1] + \frac{s_k[t] - s[t]}{\tau_s}

Every neighbour is re-simulated (``T (T - 1) / 2`` steps per neuron), in registers: the reference's
settled-neighbour skipping and chunking of the neighbour axis are CPU economies with the same result. Not
differentiable (it is part of a backward pass). float32.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

BLOCK_N = 64  # neurons per program
MAX_BLOCK_K = 16  # neighbours per program (fewer for shorter windows)
INTERPRETED = bool(triton.knobs.runtime.interpret)  # the kernel below was built for Triton's interpreter


@triton.jit(do_not_specialize=["steps", "n"])
def _neighbours_kernel(currents_ptr, spikes_ptr, weight_ptr, changes_ptr, squares_ptr, steps, n,
                       threshold, beta, syn_decay, inv_tau_s,
                       QUADRATIC: tl.constexpr, BLOCK_K: tl.constexpr, BLOCK_N: tl.constexpr):
    offs = tl.program_id(0) * BLOCK_N + tl.arange(0, BLOCK_N)
    k0 = tl.program_id(1) * BLOCK_K
    ks = k0 + tl.arange(0, BLOCK_K)
    tile = ks[:, None].to(tl.int64) * n + offs[None, :]
    valid = (ks[:, None] < steps) & (offs[None, :] < n)
    flipped = tl.load(spikes_ptr + tile, mask=valid, other=0.0)
    sign = 1.0 - 2.0 * flipped  # the flip's spike change at step k
    p = sign * tl.load(weight_ptr + tile, mask=valid, other=0.0)
    v = threshold * flipped  # membrane right after the flip
    if QUADRATIC:
        d = sign * inv_tau_s  # trace difference a_k - a
        q = d * d
    row = (k0 + 1).to(tl.int64) * n + offs
    lane = offs < n
    for t in range(k0 + 1, steps):
        current = tl.load(currents_ptr + row, mask=lane, other=0.0)
        original = tl.load(spikes_ptr + row, mask=lane, other=0.0)
        weight = tl.load(weight_ptr + row, mask=lane, other=0.0)
        moving = ks[:, None] < t  # neighbours flipped before t
        u = current[None, :] + beta * v
        fired = u > threshold
        v = tl.where(moving, tl.where(fired, 0.0, u), v)
        change = tl.where(moving, fired.to(tl.float32) - original[None, :], 0.0)
        p += change * weight[None, :]
        if QUADRATIC:
            d = tl.where(moving, syn_decay * d + change * inv_tau_s, d)
            q += tl.where(moving, d * d, 0.0)
        row += n
    tl.store(changes_ptr + tile, p, mask=valid)
    if QUADRATIC:
        tl.store(squares_ptr + tile, q, mask=valid)


@torch.library.custom_op("spikegrad::na_neighbours", mutates_args=())
def na_neighbours_op(currents: torch.Tensor, spikes: torch.Tensor, spike_weight: torch.Tensor, threshold: float,
                     mem_decay: float, tau_s: float, quadratic: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """``(P[T, N], Q[T, N] or an empty tensor)`` for one forward pass ``[T, N]`` (module docstring)."""
    currents, spikes, spike_weight = (t.contiguous() for t in (currents, spikes, spike_weight))
    steps, n = currents.shape
    changes = torch.empty_like(currents)
    squares = torch.empty_like(currents) if quadratic else currents.new_empty(0)
    block_k = min(MAX_BLOCK_K, triton.next_power_of_2(steps))
    grid = (triton.cdiv(n, BLOCK_N), triton.cdiv(steps, block_k))
    _neighbours_kernel[grid](currents, spikes, spike_weight, changes, squares if quadratic else changes, steps, n,
                             threshold, mem_decay, 1.0 - 1.0 / tau_s, 1.0 / tau_s, QUADRATIC=quadratic,
                             BLOCK_K=block_k, BLOCK_N=BLOCK_N, num_warps=4)
    return changes, squares


@na_neighbours_op.register_fake
def _(currents, spikes, spike_weight, threshold, mem_decay, tau_s, quadratic):
    return (torch.empty_like(currents, memory_format=torch.contiguous_format),
            torch.empty_like(currents, memory_format=torch.contiguous_format) if quadratic else currents.new_empty(0))


def supports(currents: torch.Tensor, spikes: torch.Tensor, spike_weight: torch.Tensor, threshold: float,
             mem_decay: float, tau_s: float, quadratic: bool) -> str | None:
    """Why the kernel cannot run this call (a sentence), or None when it can. The tensors are one forward pass
    ``[T, neurons]`` (the reference reshapes them so)."""
    tensors = (currents, spikes, spike_weight)
    if any(t.dtype != torch.float32 for t in tensors):
        return f"kernels run float32 only, got {sorted({str(t.dtype) for t in tensors})}"
    if any(t.device != currents.device for t in tensors):
        return "currents, spikes and weights are on different devices"
    if currents.numel() == 0:
        return "no neurons (an empty feature axis)"
    return None


def apply(currents: torch.Tensor, spikes: torch.Tensor, spike_weight: torch.Tensor, threshold: float,
          mem_decay: float, tau_s: float, quadratic: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``(P, Q or None)`` as the reference's ``NeighbourChanges`` holds them."""
    changes, squares = na_neighbours_op(currents, spikes, spike_weight, threshold, mem_decay, tau_s, quadratic)
    return changes, squares if quadratic else None
