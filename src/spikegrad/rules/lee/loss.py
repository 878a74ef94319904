r"""Lee et al.'s loss and prediction on the integrating readout (reference code: ``MSELoss(size_average=False)``)."""

from __future__ import annotations

import torch

from spikegrad.errors import ShapeError


def lee_mse_loss(output: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    r"""``E = sum_{b,j} (o_bj - y_bj)^2`` with one-hot ``y`` and ``o = output[-1]`` (``MSELoss(size_average=False)``).

    ``output`` is the readout trace ``[T, B, C]`` of :class:`~spikegrad.rules.lee.layers.IntegratingReadout` (its
    last step is ``M[T] / (V_th T)``) or already ``[B, C]``. The paper writes ``E = 1/2 sum e^2``; the code
    has no 1/2 (UNVERIFIED which the paper meant; the code's form is used).
    """
    final = output[-1] if output.dim() == 3 else output
    if final.dim() != 2 or labels.shape != final.shape[:1]:
        raise ShapeError("output", "[T, B, C] or [B, C] with one label per sample", tuple(output.shape))
    target = torch.nn.functional.one_hot(labels, final.shape[-1]).to(final.dtype)
    return ((final - target) ** 2).sum()


def lee_prediction(output: torch.Tensor) -> torch.Tensor:
    """Predicted class: argmax of the final output ``o = M[T] / (V_th T)`` (``output[-1]`` of the trace)."""
    return output[-1].argmax(-1)
