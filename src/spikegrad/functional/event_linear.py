r"""Event-driven fully connected synapses: sum the weights of the active inputs instead of a dense product.

Spikes are mostly zeros (90-98 % in the papers' networks), so for an input ``x[N, in]`` the product
``y = x W^T + b`` is a sum over the active inputs only:

.. math::
    y_{n,:} = b + \sum_{i:\,x_{n,i} \neq 0} x_{n,i}\, W_{:,i}

a gather of the active inputs' weight columns (``embedding_bag`` over the rows of :math:`W^T`, weighted
by the input values unless they are all 1, as 0/1 spikes are; Lee's signed ±1 spikes and any other
values are weighted). Its cost is proportional to the number of non-zeros, where a dense product's is
proportional to ``N * in``. The backward pass:

.. math::
    \frac{\partial L}{\partial W_{:,i}} = \sum_{n:\,x_{n,i} \neq 0} x_{n,i}\, g_{n,:},
    \qquad \frac{\partial L}{\partial x} = g\, W,
    \qquad \frac{\partial L}{\partial b} = \sum_n g_{n,:}

with :math:`g = \partial L / \partial y`. The weight gradient accumulates only over the active inputs, one
block of rows of :math:`g` at a time (:data:`GATHER_BLOCK_BYTES`), so that what it gathers stays in the
cache; the input gradient is a dense product (every input gets one) and is skipped when the input needs
no gradient. For backward only the active inputs' coordinates are kept (two int32 per non-zero, plus the
values unless they are all 1), not the input: 0.4 byte per input element at 5 % density against 4 for a
float32 copy.

The results are those of :func:`torch.nn.functional.linear` up to float rounding (sums in another order).
Units: whatever ``x`` and ``W`` carry; ``y`` has the units of ``x * W``.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import torch
import torch.nn.functional as F

from spikegrad.errors import ShapeError
from spikegrad.kernels import kernel_for

GATHER_BLOCK_BYTES = 8 << 20
"""Bytes of the output gradient gathered per block in the weight gradient.

Measured on the development machine (2 vCPU AMD EPYC, 2 threads; ``benchmarks/bench_event_synapse.py
--blocks``): for 32 000 x 1024 inputs at 5 % density and 1024 outputs the weight gradient took 157 / 98 /
101 / 103 / 139 / 226 ms with blocks of 2 / 4 / 8 / 16 / 32 / 128 MiB (the whole gradient: 125 MiB),
against 373 ms for the dense product; 4-16 MiB are level, 8 MiB is in the middle.
"""

_INT32_MAX = 2**31 - 1


class ActiveInputs:
    """Coordinates of the non-zeros of ``x[N, in]`` in row order: ``rows``, ``cols`` and ``values``.

    ``values`` is None when every non-zero is 1 (0/1 spikes: the gathers need no weighting);
    ``row_start[n]`` is the position of row ``n``'s first non-zero (``row_start[N]`` = their number).
    """

    def __init__(self, x: torch.Tensor):
        coords = x.nonzero()
        index_dtype = torch.int32 if max(x.shape) <= _INT32_MAX and coords.shape[0] <= _INT32_MAX else torch.int64
        rows, cols = coords[:, 0], coords[:, 1]
        values = x[rows, cols]
        low, high = torch.aminmax(values) if values.numel() else (x.new_ones(()), x.new_ones(()))
        self.values: torch.Tensor | None = None if bool(low == 1) and bool(high == 1) else values
        self.row_start = torch.searchsorted(rows, torch.arange(x.shape[0] + 1, device=x.device)).to(index_dtype)
        self.rows, self.cols = rows.to(index_dtype), cols.to(index_dtype)

    def tensors(self) -> list[torch.Tensor]:
        return [self.rows, self.cols, self.row_start] + ([] if self.values is None else [self.values])


def _gather_weight_gradient(
    grad_out: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor, values: torch.Tensor | None,
    row_start: torch.Tensor, in_features: int,
) -> torch.Tensor:
    """``sum_n x[n, i] g[n, :]`` over the active ``(n, i)``, block by block of rows of ``g``; ``[out, in]``."""
    n_rows, out_features = grad_out.shape
    block = max(1, GATHER_BLOCK_BYTES // (out_features * grad_out.element_size()))
    starts = row_start[::block].tolist() + ([] if n_rows % block == 0 else [int(row_start[-1])])
    column_ids = torch.arange(in_features, dtype=cols.dtype, device=cols.device)
    total = None
    for index, (first, last) in enumerate(pairwise(starts)):
        if first == last:
            continue
        block_cols, order = torch.sort(cols[first:last], stable=True)  # column-major inside the block
        block_rows = rows[first:last][order] - index * block
        weights = None if values is None else values[first:last][order]
        offsets = torch.searchsorted(block_cols, column_ids, out_int32=cols.dtype == torch.int32)
        part = F.embedding_bag(block_rows, grad_out[index * block:(index + 1) * block], offsets, mode="sum",
                               per_sample_weights=weights)
        total = part if total is None else total.add_(part)
    if total is None:
        return grad_out.new_zeros(out_features, in_features)
    return total.t().contiguous()


class _EventLinear(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x, weight, bias):  # type: ignore[override]
        ctx.set_materialize_grads(False)
        flat = x.reshape(-1, x.shape[-1])
        active = ActiveInputs(flat)
        out = F.embedding_bag(active.cols, weight.t().contiguous(), active.row_start[:-1], mode="sum",
                              per_sample_weights=active.values)
        if bias is not None:
            out.add_(bias)
        ctx.save_for_backward(weight, *active.tensors())
        ctx.x_shape, ctx.has_values, ctx.has_bias = x.shape, active.values is not None, bias is not None
        return out.reshape(*x.shape[:-1], weight.shape[0])

    @staticmethod
    def backward(ctx: Any, grad_out):  # type: ignore[override]
        if grad_out is None:
            return None, None, None
        weight, rows, cols, row_start, *rest = ctx.saved_tensors
        values = rest[0] if ctx.has_values else None
        grad = grad_out.reshape(-1, weight.shape[0]).contiguous()
        grad_x = (grad @ weight).reshape(ctx.x_shape) if ctx.needs_input_grad[0] else None
        grad_w = None
        if ctx.needs_input_grad[1]:
            grad_w = _gather_weight_gradient(grad, rows, cols, values, row_start, weight.shape[1])
        grad_b = grad.sum(0) if ctx.has_bias and ctx.needs_input_grad[2] else None
        return grad_x, grad_w, grad_b


def event_linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """``x W^T + b`` computed from the non-zeros of ``x`` only (see the module docstring for the equations).

    Args:
        x: input ``[..., in]`` (spikes: 0/1 or ±1; any values are exact, the cost grows with the non-zeros).
        weight: ``[out, in]``, same dtype and device as ``x``.
        bias: ``[out]`` or None.

    Returns:
        ``[..., out]``, equal to ``F.linear(x, weight, bias)`` up to float rounding, with the same gradients.

    Runs the fused Triton kernel (:mod:`spikegrad.kernels.event_linear`) for supported CUDA calls, this
    reference elsewhere (:func:`spikegrad.kernels.kernel_for`; force either with ``use_backend``).
    """
    if x.dim() < 1 or weight.dim() != 2 or x.shape[-1] != weight.shape[1]:
        raise ShapeError("event_linear input", f"[..., {weight.shape[-1]}] for a weight {tuple(weight.shape)}",
                         tuple(x.shape))
    if x.dtype != weight.dtype:
        raise TypeError(f"event_linear: input dtype {x.dtype} differs from the weight's {weight.dtype}")
    return (kernel_for("event_linear", x, weight, bias) or _EventLinear.apply)(x, weight, bias)
