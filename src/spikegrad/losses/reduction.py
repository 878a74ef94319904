"""How a loss combines the samples of a batch: their mean or their sum.

Multi-process training (:mod:`spikegrad.train.distributed`) runs each process on its share of a global
batch and sums the processes' gradients. For that sum to be the gradient of the global batch's loss,
each process weights its share's loss by :meth:`BatchReduction.shard_weight`: a mean over ``b`` of ``B``
samples counts ``b / B``, a sum counts fully.
"""

from __future__ import annotations

import enum


class BatchReduction(enum.Enum):
    """``MEAN``: the loss is an average over the batch's samples (rate cross-entropy, SLAYER's NumSpikes
    recipes); ``SUM``: a sum over them (Lee's MSE, NA's trace and count losses)."""

    MEAN = "mean"
    SUM = "sum"

    def shard_weight(self, shard: int, batch: int) -> float:
        """The weight of the loss over ``shard`` of a batch's ``batch`` samples, so that the weighted
        losses of the shards sum to the loss of the whole batch."""
        return shard / batch if self is BatchReduction.MEAN else 1.0
