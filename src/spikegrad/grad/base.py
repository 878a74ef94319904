"""The interface every spike-derivative estimator implements.

A spike is ``s = H(x)`` with ``x = v - theta`` (membrane potential minus threshold) and ``H`` the
Heaviside step (``H(0) = 1``). Its true derivative is zero almost everywhere, so learning rules replace
``dH/dx`` by an *estimator*. Each estimator is a frozen dataclass giving:

- ``derivative(x)``: the value used for ``ds/dx`` in the backward pass (units: 1/[v]);
- ``primitive(x)``: an antiderivative of ``derivative`` that tends to 0 as ``x -> -inf``. It is the smooth
  function whose derivative the surrogate is, and it is what :class:`Smooth` uses as a forward pass;
- ``forward(x)``: the forward value of the spike, the Heaviside step for every real estimator.

Kernels receive an estimator's class and fields as compile-time constants, so estimators stay plain data.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod

import torch


def heaviside(x: torch.Tensor, *, strict: bool = False) -> torch.Tensor:
    """Step ``H(x)`` in ``x``'s dtype: 1 where ``x >= 0`` (``x > 0`` if ``strict``), else 0."""
    return heaviside_at(x, 0.0, strict=strict)


def heaviside_at(v: torch.Tensor, threshold: float, *, strict: bool = False, out: torch.Tensor | None = None) -> torch.Tensor:
    """``H(v - threshold)`` in ``v``'s dtype, compared directly (``v >= threshold``, or ``>`` if ``strict``).

    The same values as stepping the rounded difference (it has the sign of the exact one). The comparison
    writes straight into a float tensor, which on the CPU is about 4x faster than casting a bool result.
    """
    out = torch.empty_like(v, memory_format=torch.contiguous_format) if out is None else out
    return torch.gt(v, threshold, out=out) if strict else torch.ge(v, threshold, out=out)


class SpikeEstimator(ABC):
    """Base class of spike-derivative estimators (see the module docstring)."""

    def forward(self, x: torch.Tensor, strict: bool = False) -> torch.Tensor:
        """Heaviside step ``H(x)`` with ``H(0) = 1`` (``H(0) = 0`` if ``strict``), in ``x``'s dtype."""
        return heaviside(x, strict=strict)

    def fire(self, v: torch.Tensor, threshold: float, out: torch.Tensor | None = None, strict: bool = False) -> torch.Tensor:
        """Spikes of the membrane ``v``: ``forward(v - threshold, strict)``, written into ``out`` when given.

        For the Heaviside step this compares ``v`` with the threshold directly and skips the subtraction.
        """
        if type(self).forward is SpikeEstimator.forward:
            return heaviside_at(v, threshold, strict=strict, out=out)
        s = self.forward(v - threshold, strict)
        return s if out is None else out.copy_(s)

    @abstractmethod
    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        """The surrogate ``ds/dx`` evaluated at ``x = v - theta``: a new tensor, which callers may modify."""

    @abstractmethod
    def primitive(self, x: torch.Tensor) -> torch.Tensor:
        """An antiderivative of :meth:`derivative`, 0 at ``x = -inf``."""


@dataclasses.dataclass(frozen=True)
class Smooth(SpikeEstimator):
    """Replace the spike's forward step by the estimator's smooth primitive.

    ``s = inner.primitive(x)`` in the forward pass and ``ds/dx = inner.derivative(x)`` in the backward
    pass, so the whole network is differentiable and its gradients can be checked against finite
    differences (``torch.autograd.gradcheck``). Also useful as an annealing start ("spiking=False").
    """

    inner: SpikeEstimator

    def forward(self, x: torch.Tensor, strict: bool = False) -> torch.Tensor:
        return self.inner.primitive(x)

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner.derivative(x)

    def primitive(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner.primitive(x)
