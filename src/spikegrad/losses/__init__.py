"""Losses on spike trains and membrane traces (time-first ``[T, B, ...]``)."""

from spikegrad.losses.count import spike_count_loss, spike_count_targets
from spikegrad.losses.membrane import membrane_mse
from spikegrad.losses.rate import rate_cross_entropy
from spikegrad.losses.reduction import BatchReduction
from spikegrad.losses.van_rossum import van_rossum_loss

__all__ = ["BatchReduction", "membrane_mse", "rate_cross_entropy", "van_rossum_loss", "spike_count_loss", "spike_count_targets"]
