"""Encoders from static values to spike trains ``[T, ...]``."""

from spikegrad.encoding.latency import latency_encode
from spikegrad.encoding.rate import poisson_encode, signed_poisson_encode

__all__ = ["latency_encode", "poisson_encode", "signed_poisson_encode"]
