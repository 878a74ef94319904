r"""The TSSL-BP / NA "kernel" loss on synaptic traces (methods note B3).

.. math:: L = \sum_{b, i, t} \tfrac12 \big((\sigma * d_{b,i})[t] - a_{b,i}[t]\big)^2

where ``a`` is the output layer's synaptic trace, ``d`` the desired spike train (the NA code: the label's
neuron fires at every step, the others never) and ``sigma *`` the same synaptic filter. Summed over batch,
neurons and time as in the code (``reduction="mean"`` divides by the batch size). The prediction is the
output neuron with the largest summed trace (:func:`spikegrad.train.classification.spike_count_prediction`).
:func:`count_loss` is TSSL-BP's one-sided spike-count loss, used by the N-MNIST configurations.
"""

from __future__ import annotations

import torch

from spikegrad.errors import ConfigError, ShapeError
from spikegrad.rules.na.neuron import NAParameters, synaptic_trace

REDUCTIONS = ("sum", "mean")


def desired_trace(
    labels: torch.Tensor,
    num_classes: int,
    steps: int,
    params: NAParameters,
    pattern: torch.Tensor | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Target traces ``[T, B, num_classes]``: the filtered ``pattern`` (default: all ones, the NA code; TSSL-BP
    used ``[0, 1, 1, 1, 1]``) for each label's neuron, zero for the others."""
    if pattern is None:
        pattern = torch.ones(steps, dtype=dtype)
    if pattern.shape != (steps,):
        raise ShapeError("pattern", f"[{steps}] (one desired spike per step)", tuple(pattern.shape))
    one_hot = torch.nn.functional.one_hot(labels, num_classes).to(dtype)  # [B, C]
    desired = pattern.to(dtype=dtype, device=labels.device).view(steps, 1, 1) * one_hot
    return synaptic_trace(desired, params)


def trace_loss(
    trace: torch.Tensor,
    labels: torch.Tensor,
    params: NAParameters,
    pattern: torch.Tensor | None = None,
    reduction: str = "sum",
) -> torch.Tensor:
    """Half the squared distance between output traces ``[T, B, C]`` and the labels' desired traces."""
    if reduction not in REDUCTIONS:
        raise ConfigError("reduction", f"expected one of {REDUCTIONS}, got {reduction!r}")
    if trace.dim() != 3 or labels.shape != trace.shape[1:2]:
        raise ShapeError("trace", f"[T, B, classes] with B = {labels.shape[0] if labels.dim() else '?'} labels",
                         tuple(trace.shape))
    target = desired_trace(labels, trace.shape[2], trace.shape[0], params, pattern, trace.dtype)
    loss = 0.5 * (trace - target).square().sum()
    return loss / trace.shape[1] if reduction == "mean" else loss


def count_loss(trace: torch.Tensor, labels: torch.Tensor, desired: float, undesired: float) -> torch.Tensor:
    """TSSL-BP's one-sided spike-count loss on summed traces ``[T, B, C]`` (used by the N-MNIST configs).

    ``count = sum_t a[t]``; the label's neuron is pushed up to ``desired`` and never penalised above it,
    the others down to ``undesired`` and never below; ``delta = (count - target) / T`` is applied at every
    step: ``L = 1/2 sum_t sum delta^2`` (summed over the batch), whose gradient is ``delta`` at every step,
    as TSSL-BP's hand-written ``loss_count``.
    """
    if trace.dim() != 3 or labels.shape != trace.shape[1:2]:
        raise ShapeError("trace", "[T, B, classes] with one label per sample", tuple(trace.shape))
    steps = trace.shape[0]
    one_hot = torch.nn.functional.one_hot(labels, trace.shape[2]).to(trace.dtype)
    target = undesired + (desired - undesired) * one_hot
    delta = (trace.sum(0) - target) / steps
    keep = torch.where(one_hot > 0, delta < 0, delta > 0)
    return 0.5 * steps * (delta * keep).square().sum()
