"""Spike-derivative estimators: one interface, a catalogue of the field's surrogates."""

from spikegrad.grad.base import Smooth, SpikeEstimator
from spikegrad.grad.surrogates import (
    CATALOGUE,
    ATan,
    ExponentialPDF,
    FastSigmoid,
    Sigmoid,
    StraightThrough,
    Triangle,
    make_estimator,
)

__all__ = [
    "CATALOGUE",
    "ATan",
    "ExponentialPDF",
    "FastSigmoid",
    "Sigmoid",
    "Smooth",
    "SpikeEstimator",
    "StraightThrough",
    "Triangle",
    "make_estimator",
]
