"""The spike non-linearity with a pluggable derivative estimator.

``s = estimator.forward(x)`` (the Heaviside step ``H(x)``, ``H(0) = 1``, for every real estimator) and
``ds/dx = estimator.derivative(x)``, where ``x = v - theta``.
"""

from __future__ import annotations

from typing import Any

import torch

from spikegrad.grad.base import SpikeEstimator


class _SpikeFunction(torch.autograd.Function):
    @staticmethod
    def forward(x: torch.Tensor, estimator: SpikeEstimator, strict: bool) -> torch.Tensor:  # type: ignore[override]
        return estimator.forward(x, strict)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: torch.Tensor) -> None:
        x, estimator, _ = inputs
        ctx.save_for_backward(x)
        ctx.estimator = estimator

    @staticmethod
    def backward(ctx: Any, grad_s: torch.Tensor):  # type: ignore[override]
        (x,) = ctx.saved_tensors
        return grad_s * ctx.estimator.derivative(x), None, None


def spike(x: torch.Tensor, estimator: SpikeEstimator, strict: bool = False) -> torch.Tensor:
    """Spikes ``H(x)`` of ``x = v - theta`` (any shape), differentiable through ``estimator``.

    ``strict``: ``H(0) = 0`` (fire on ``v > theta``) instead of ``H(0) = 1``.

    Returns a tensor of ``x``'s shape and dtype holding 0/1 (or the primitive's value under
    :class:`~spikegrad.grad.Smooth`).
    """
    return _SpikeFunction.apply(x, estimator, strict)
