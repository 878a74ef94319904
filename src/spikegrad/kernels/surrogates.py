r"""The spike-derivative estimators of :mod:`spikegrad.grad.surrogates` as a Triton function.

A kernel receives an estimator as ``(KIND, p0, p1)``: ``KIND`` a compile-time constant (one specialisation
per estimator class), ``p0, p1`` float32 scalars folded from its fields as the reference folds them
(:func:`estimator_code`). With
``x = h - theta`` (membrane units) :func:`derivative` returns, exactly as the reference writes them:

.. math::
    \text{FastSigmoid}(k):\ \frac{1}{(1 + k|x|)^2},\quad
    \text{ATan}(a):\ \frac{a/2}{1 + (\tfrac{\pi}{2} a x)^2},\quad
    \text{Sigmoid}(a):\ a\,\sigma(ax)(1-\sigma(ax)),\\
    \text{Triangle}(w, c):\ c \max(0, 1 - |x|/w),\quad
    \text{StraightThrough}(w):\ [|x| < w/2]/w,\quad
    \text{ExponentialPDF}(\tau, c):\ e^{-|x|/\tau}\, c/\tau

(units 1/[membrane]). Other estimators (:class:`~spikegrad.grad.Smooth`, subclasses) have no code: the
kernels do not run them and the reference does.
"""

from __future__ import annotations

import math

import triton
import triton.language as tl

from spikegrad.grad.base import SpikeEstimator
from spikegrad.grad.surrogates import ATan, ExponentialPDF, FastSigmoid, Sigmoid, StraightThrough, Triangle

FAST_SIGMOID, ATAN, SIGMOID, TRIANGLE, STRAIGHT_THROUGH, EXPONENTIAL_PDF = (tl.constexpr(k) for k in range(6))

# each class's fields as the reference's formula uses them, folded in float64 as the reference folds them
_CODES = {
    FastSigmoid: lambda e: (FAST_SIGMOID, e.slope, 0.0),
    ATan: lambda e: (ATAN, e.alpha / 2.0, math.pi / 2.0 * e.alpha),
    Sigmoid: lambda e: (SIGMOID, e.alpha, 0.0),
    Triangle: lambda e: (TRIANGLE, e.width, e.height),
    StraightThrough: lambda e: (STRAIGHT_THROUGH, e.width / 2.0, e.width),
    ExponentialPDF: lambda e: (EXPONENTIAL_PDF, -1.0 / e.tau, e.scale / e.tau),
}


def estimator_code(estimator: SpikeEstimator) -> tuple[int, float, float] | None:
    """``(KIND, p0, p1)`` of an estimator of the catalogue (its exact class), or None if it has none."""
    code = _CODES.get(type(estimator))
    if code is None:
        return None
    kind, p0, p1 = code(estimator)
    return kind.value, p0, p1


@triton.jit
def derivative(x, KIND: tl.constexpr, p0, p1):
    """The surrogate ``ds/dx`` at ``x = h - theta`` of the estimator coded ``(KIND, p0, p1)``."""
    if KIND == FAST_SIGMOID:  # p0 = slope
        d = tl.abs(x) * p0 + 1.0
        out = 1.0 / (d * d)
    elif KIND == ATAN:  # p0 = alpha / 2, p1 = pi / 2 * alpha
        u = p1 * x
        out = p0 / (1.0 + u * u)
    elif KIND == SIGMOID:  # p0 = alpha
        sig = tl.sigmoid(p0 * x)
        out = p0 * sig * (1.0 - sig)
    elif KIND == TRIANGLE:  # p0 = width, p1 = height
        out = p1 * tl.maximum(1.0 - tl.abs(x) / p0, 0.0)
    elif KIND == STRAIGHT_THROUGH:  # p0 = width / 2, p1 = width
        out = tl.where(tl.abs(x) < p0, 1.0, 0.0) / p1
    else:  # EXPONENTIAL_PDF: p0 = -1 / tau, p1 = scale / tau
        out = tl.exp(tl.abs(x) * p0) * p1
    return out
