r"""A sampled, truncated alpha kernel: the impulse response of SLAYER's spike-response and refractory filters.

.. math:: k[n] = \text{scale}\cdot\frac{n T_s}{\tau}\, e^{1 - n T_s/\tau},\qquad n = 0, 1, \dots, K-1

(``tau`` and ``Ts`` in ms), sampled as slayerPytorch does: stop at the first sample with ``|k| < epsilon``
after the peak. :mod:`spikegrad.functional.psp` filters with it (FIR or its exact O(T) recursion).
"""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np
import torch

from spikegrad.errors import ConfigError, check_positive

TRUNCATION = 0.01  # slayerPytorch's EPSILON: a kernel stops below this magnitude



@dataclasses.dataclass(frozen=True)
class AlphaKernel:
    r"""A sampled, truncated alpha kernel ``k[n] = scale * (n Ts / tau) * exp(1 - n Ts / tau)``.

    Attributes:
        tau: time constant in ms (the peak is at ``t = tau``).
        ts: sampling step ``Ts`` in ms.
        scale: peak value (1 for the spike response, ``-scale_ref * theta`` for the refractory kernel).
        epsilon: truncation: sampling stops at the first ``n`` with ``|k[n]| < epsilon`` and ``n Ts > tau``.

    ``k[n] = c * n * r**n`` with ``r = exp(-Ts/tau)`` (:attr:`decay`) and ``c = scale * e * Ts / tau``
    (:attr:`gain`), which is what the O(T) recursion of :mod:`spikegrad.functional.psp` uses.
    """

    tau: float
    ts: float
    scale: float = 1.0
    epsilon: float = TRUNCATION

    def __post_init__(self) -> None:
        check_positive("tau", self.tau)
        check_positive("Ts", self.ts)
        check_positive("epsilon", self.epsilon)
        if not math.isfinite(self.scale):
            raise ConfigError("scale", f"must be finite, got {self.scale!r}")

    @functools.cached_property
    def values(self) -> np.ndarray:
        """The samples ``k[0..K-1]`` (float64, computed once)."""
        count = max(16, math.ceil(16 * self.tau / self.ts))
        while True:  # the alpha kernel decays, so a long enough grid always contains the stop
            t = self.ts * np.arange(count, dtype=np.float64)
            k = self.scale * t / self.tau * np.exp(1.0 - t / self.tau)
            stop = np.flatnonzero((np.abs(k) < self.epsilon) & (t > self.tau))
            if stop.size:
                return k[: stop[0]]
            count *= 2

    @property
    def length(self) -> int:
        """Number of samples ``K`` after truncation."""
        return len(self.values)

    @property
    def decay(self) -> float:
        """``r = exp(-Ts / tau)``, the ratio ``k[n+1]/k[n] * n/(n+1)``."""
        return math.exp(-self.ts / self.tau)

    @property
    def gain(self) -> float:
        """``c = scale * e * Ts / tau``, so that ``k[n] = c * n * r**n``."""
        return self.scale * math.e * self.ts / self.tau

    def tensor(self, dtype: torch.dtype = torch.float32, device: torch.device | str | None = None) -> torch.Tensor:
        """The samples as a 1-D tensor ``[K]``."""
        return torch.as_tensor(self.values, dtype=dtype, device=device)
