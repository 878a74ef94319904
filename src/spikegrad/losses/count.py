r"""Spike-count loss in a time window with "true"/"false" target counts.

For output spikes ``s[T, B, C]`` and window ``[start, stop)`` (steps), the count is
:math:`n_{b,c} = \sum_{t \in W} s_{t,b,c}`. The target is ``true_count`` for the labelled class and
``false_count`` for the others (a non-zero false count keeps every output neuron alive). The loss is

.. math:: L = \frac{1}{2B} \sum_{b,c} \big(n_{b,c} - \hat n_{b,c}\big)^2 / |W|

(the squared count error per window step; SLAYER's NumSpikes with ``Ts = 1``).
"""

from __future__ import annotations

import torch

from spikegrad.errors import ConfigError, ShapeError


def spike_count_targets(labels: torch.Tensor, num_classes: int, true_count: float, false_count: float) -> torch.Tensor:
    """Target counts ``[B, C]``: ``true_count`` at each label, ``false_count`` elsewhere."""
    targets = torch.full((labels.shape[0], num_classes), float(false_count))
    return targets.scatter_(1, labels.view(-1, 1).cpu(), float(true_count)).to(labels.device)


def spike_count_loss(
    output: torch.Tensor,
    labels: torch.Tensor,
    true_count: float,
    false_count: float,
    window: tuple[int, int] | None = None,
) -> torch.Tensor:
    """Squared error of windowed spike counts against true/false targets (see module docstring)."""
    if output.dim() != 3 or labels.shape != output.shape[1:2]:
        raise ShapeError("spike_count_loss output/labels", "[T, B, C] and [B]", f"{tuple(output.shape)} and {tuple(labels.shape)}")
    start, stop = window if window is not None else (0, output.shape[0])
    if not 0 <= start < stop <= output.shape[0]:
        raise ConfigError("window", f"need 0 <= start < stop <= T={output.shape[0]}, got ({start}, {stop})")
    counts = output[start:stop].sum(0)
    targets = spike_count_targets(labels, output.shape[2], true_count, false_count).to(counts.dtype)
    return 0.5 * ((counts - targets) ** 2).sum() / (output.shape[1] * (stop - start))
