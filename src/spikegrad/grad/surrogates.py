"""The catalogue of surrogate gradients, named as the field names them.

Each estimator's ``derivative`` is the exact derivative of its ``primitive`` (checked in float64 against
finite differences in the tests). ``x = v - theta``.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Literal

import torch

from spikegrad.errors import ConfigError, check_positive
from spikegrad.grad.base import SpikeEstimator


@dataclasses.dataclass(frozen=True)
class FastSigmoid(SpikeEstimator):
    """SuperSpike / fast sigmoid (Zenke & Ganguli 2018; snnTorch's default).

    ``ds/dx = 1 / (1 + slope |x|)^2`` (peak 1 at threshold);
    primitive ``1/slope + x / (1 + slope |x|)`` (rises from 0 to ``2/slope``).
    """

    slope: float = 25.0

    def __post_init__(self) -> None:
        check_positive("slope", self.slope)

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        denominator = x.abs().mul_(self.slope).add_(1.0)
        return denominator.mul_(denominator).reciprocal_()  # 1 / (1 + k|x|)^2, in place on one buffer

    def primitive(self, x: torch.Tensor) -> torch.Tensor:
        return 1.0 / self.slope + x / (1.0 + self.slope * x.abs())


@dataclasses.dataclass(frozen=True)
class ATan(SpikeEstimator):
    """Arctangent surrogate (Fang et al. 2021; SpikingJelly's default).

    primitive ``arctan(pi/2 * alpha * x) / pi + 1/2``;
    ``ds/dx = (alpha/2) / (1 + (pi/2 * alpha * x)^2)`` (integrates to 1).
    """

    alpha: float = 2.0

    def __post_init__(self) -> None:
        check_positive("alpha", self.alpha)

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        return (self.alpha / 2.0) / (1.0 + (math.pi / 2.0 * self.alpha * x) ** 2)

    def primitive(self, x: torch.Tensor) -> torch.Tensor:
        return torch.atan(math.pi / 2.0 * self.alpha * x) / math.pi + 0.5


@dataclasses.dataclass(frozen=True)
class Sigmoid(SpikeEstimator):
    """Logistic surrogate: primitive ``sigmoid(alpha x)``, ``ds/dx = alpha sig (1 - sig)``."""

    alpha: float = 4.0

    def __post_init__(self) -> None:
        check_positive("alpha", self.alpha)

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        sig = torch.sigmoid(self.alpha * x)
        return self.alpha * sig * (1.0 - sig)

    def primitive(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.alpha * x)


@dataclasses.dataclass(frozen=True)
class Triangle(SpikeEstimator):
    """Triangular / piecewise-linear surrogate (Esser et al. 2016; Bellec et al. 2018).

    ``ds/dx = height * max(0, 1 - |x| / width)``; the primitive is the matching piecewise quadratic,
    rising from 0 to ``height * width``.
    """

    width: float = 1.0
    height: float = 1.0

    def __post_init__(self) -> None:
        check_positive("width", self.width)
        check_positive("height", self.height)

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        return self.height * torch.clamp(1.0 - x.abs() / self.width, min=0.0)

    def primitive(self, x: torch.Tensor) -> torch.Tensor:
        u = torch.clamp(x / self.width, -1.0, 1.0)  # position inside the triangle's support
        half = 0.5 * self.height * self.width
        rising = half * (1.0 + u) ** 2
        falling = 2.0 * half - half * (1.0 - u) ** 2
        return torch.where(u < 0, rising, falling)


@dataclasses.dataclass(frozen=True)
class StraightThrough(SpikeEstimator):
    """Clipped straight-through estimator (Bengio et al. 2013; Hubara et al. 2016).

    ``ds/dx = 1/width`` for ``|x| < width/2``, else 0; primitive ``clamp(x/width + 1/2, 0, 1)``.
    """

    width: float = 1.0

    def __post_init__(self) -> None:
        check_positive("width", self.width)

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        return (x.abs() < self.width / 2.0).to(x.dtype) / self.width

    def primitive(self, x: torch.Tensor) -> torch.Tensor:
        return torch.clamp(x / self.width + 0.5, 0.0, 1.0)


@dataclasses.dataclass(frozen=True)
class ExponentialPDF(SpikeEstimator):
    """SLAYER's spike escape-rate PDF (Shrestha & Orchard 2018).

    ``ds/dx = scale / tau * exp(-|x| / tau)`` in absolute units of ``x`` (integrates to ``2 * scale``).
    SLAYER's YAML gives ``tauRho`` and ``scaleRho`` *relative to theta*: build it with
    :meth:`from_slayer` so that ``tau = tauRho * theta`` and ``scale/tau = scaleRho / (tauRho * theta)``.
    Primitive: ``scale * exp(x/tau)`` for ``x < 0``, ``scale * (2 - exp(-x/tau))`` for ``x >= 0``.
    """

    tau: float = 1.0
    scale: float = 1.0

    def __post_init__(self) -> None:
        check_positive("tau", self.tau)
        check_positive("scale", self.scale)

    @classmethod
    def from_slayer(cls, tau_rho: float, scale_rho: float, theta: float) -> "ExponentialPDF":
        """SLAYER's parameters: width ``tau_rho * theta``, peak ``scale_rho / (tau_rho * theta)``."""
        return cls(tau=tau_rho * theta, scale=scale_rho)

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        return x.abs().mul_(-1.0 / self.tau).exp_().mul_(self.scale / self.tau)  # in place on one buffer

    def primitive(self, x: torch.Tensor) -> torch.Tensor:
        decay = torch.exp(-x.abs() / self.tau)
        return torch.where(x < 0, self.scale * decay, self.scale * (2.0 - decay))


SurrogateName = Literal["fast-sigmoid", "superspike", "atan", "sigmoid", "triangle", "straight-through", "slayer-pdf"]
"""The names :func:`make_estimator` takes (the keys of :data:`CATALOGUE`), as a type for typed settings."""

CATALOGUE: dict[str, type[SpikeEstimator]] = {
    "fast-sigmoid": FastSigmoid,
    "superspike": FastSigmoid,
    "atan": ATan,
    "sigmoid": Sigmoid,
    "triangle": Triangle,
    "straight-through": StraightThrough,
    "slayer-pdf": ExponentialPDF,
}


def make_estimator(name: str, **params: float) -> SpikeEstimator:
    """Build an estimator from its field name (``"atan"``) and keyword parameters (``alpha=2``)."""
    try:
        cls = CATALOGUE[name]
    except KeyError:
        raise ConfigError("surrogate", f"unknown estimator {name!r}; choose one of {sorted(CATALOGUE)}") from None
    fields = {f.name for f in dataclasses.fields(cls)}
    unknown = set(params) - fields
    if unknown:
        raise ConfigError("surrogate", f"{name} takes {sorted(fields)}, got unknown {sorted(unknown)}")
    return cls(**params)
