r"""Rate cross-entropy: classify by the output spike counts.

.. math:: L = \mathrm{CE}\big(\mathrm{softmax}(\tfrac{\text{scale}}{T}\sum_t s_t),\ y\big)

``scale`` sharpens the softmax of firing rates (rates lie in [0, 1]). Input ``[T, B, C]``, labels ``[B]``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from spikegrad.errors import ShapeError


def rate_cross_entropy(output: torch.Tensor, labels: torch.Tensor, scale: float = 10.0) -> torch.Tensor:
    """Mean cross-entropy of ``scale * firing rate`` logits against integer ``labels``."""
    if output.dim() != 3 or labels.shape != output.shape[1:2]:
        raise ShapeError("rate_cross_entropy output/labels", "[T, B, C] and [B]", f"{tuple(output.shape)} and {tuple(labels.shape)}")
    return F.cross_entropy(output.mean(0) * scale, labels)
