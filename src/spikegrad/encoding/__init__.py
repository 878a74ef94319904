"""Encoders from static values to spike trains ``[T, ...]``: rate, latency, integrate-and-fire."""

from spikegrad.encoding.integrate_fire import integrate_and_fire_encode
from spikegrad.encoding.latency import latency_encode
from spikegrad.encoding.rate import poisson_encode, signed_poisson_encode

__all__ = ["integrate_and_fire_encode", "latency_encode", "poisson_encode", "signed_poisson_encode"]
