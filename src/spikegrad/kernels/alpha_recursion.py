r"""Fused Triton kernel of the IIR alpha filter's two scans (:func:`spikegrad.functional.psp.alpha_recursion`),
registered as the torch custom op ``spikegrad::alpha_recursion``.

One program owns ``BLOCK`` neurons of the flattened ``[T, N]`` input and walks time forwards (the PSP filter)
or backwards (``adjoint``: its correlation), with ``r`` the kernel's per-step decay (dimensionless):

.. math:: w[n] = e[n-1] + r\,w[n-1],\qquad e[n] = x[n] + r\,e[n-1],\qquad e[-1] = w[-1] = 0

(``n - 1`` read as ``n + 1`` in the adjoint). The gain, the truncation of the kernel at ``K`` taps and the
autograd (the backward of the filter is the correlation and back) stay in :mod:`spikegrad.functional.psp`,
which calls this op inside its autograd function; the op itself is never differentiated. float32 only.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

BLOCK = 128  # neurons per program: one per thread of 4 warps
INTERPRETED = bool(triton.knobs.runtime.interpret)  # the kernel below was built for Triton's interpreter


@triton.jit(do_not_specialize=["steps", "n"])
def _recursion_kernel(x_ptr, e_ptr, w_ptr, steps, n, r, ADJOINT: tl.constexpr, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    if ADJOINT:
        start = (steps - 1).to(tl.int64) * n + offs
        stride = -n
    else:
        start = offs.to(tl.int64)
        stride = n
    xs, es, ws = x_ptr + start, e_ptr + start, w_ptr + start
    e = tl.zeros([BLOCK], tl.float32)
    w = tl.zeros([BLOCK], tl.float32)
    for _ in range(steps):
        w = e + r * w
        e = tl.load(xs, mask=mask, other=0.0) + r * e
        tl.store(es, e, mask=mask)
        tl.store(ws, w, mask=mask)
        xs += stride
        es += stride
        ws += stride


@torch.library.custom_op("spikegrad::alpha_recursion", mutates_args=())
def alpha_recursion_op(x: torch.Tensor, decay: float, adjoint: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """``(e, w)`` of :func:`spikegrad.functional.psp.alpha_recursion` for a float32 ``x[T, ...]``."""
    x = x.contiguous()
    steps, n = x.shape[0], x[0].numel()
    e, w = torch.empty_like(x), torch.empty_like(x)
    _recursion_kernel[(triton.cdiv(n, BLOCK),)](x, e, w, steps, n, decay, ADJOINT=adjoint, BLOCK=BLOCK, num_warps=4)
    return e, w


@alpha_recursion_op.register_fake
def _(x, decay, adjoint):
    x = x.contiguous()
    return torch.empty_like(x), torch.empty_like(x)


def supports(x: torch.Tensor, decay: float, adjoint: bool) -> str | None:
    """Why the kernel cannot run this call (a sentence), or None when it can."""
    if x.dtype != torch.float32:
        return f"kernels run float32 only, got {x.dtype}"
    if x[0].numel() == 0:
        return "no neurons (an empty feature axis)"
    return None


def apply(x: torch.Tensor, decay: float, adjoint: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """The scans as the reference :func:`~spikegrad.functional.psp.alpha_recursion` gives them: ``(e, w)``."""
    return alpha_recursion_op(x, decay, adjoint)
