r"""SLAYER's spike-response-model (SRM) parameters and its sampled alpha kernels.

Both kernels of the SRM neuron (Shrestha & Orchard 2018) have the alpha shape

.. math::
    \varepsilon(t) = \frac{t}{\tau_{sr}}\, e^{1 - t/\tau_{sr}}\,H(t), \qquad
    \nu(t) = -\,\text{scale\_ref}\cdot\vartheta\,\frac{t}{\tau_{ref}}\, e^{1 - t/\tau_{ref}}\,H(t)

(``t``, ``tau_sr``, ``tau_ref`` in ms; ``epsilon`` peaks at 1 for ``t = tau_sr``, ``nu`` has its minimum
``-scale_ref * theta`` at ``t = tau_ref``). They are sampled exactly as slayerPytorch does: at
``t = n * Ts`` for ``n = 0, 1, ...``, stopping at the first sample with ``|k(t)| < epsilon`` and ``t > tau``
(``epsilon = 0.01``, or ``1e-4`` for the "full" refractory kernel of the original MATLAB code). The original
also stops at the sample length ``tSample``; samples past the end of a sequence never act on it, so the
kernels here are cut by ``epsilon`` only. ``epsilon[0] = nu[0] = 0``: both are causal FIR filters.
"""

from __future__ import annotations

import dataclasses
import math

from spikegrad.errors import ConfigError, check_positive
from spikegrad.functional.alpha_kernel import TRUNCATION, AlphaKernel
from spikegrad.grad.surrogates import ExponentialPDF

FULL_REF_TRUNCATION = 1e-4  # the MATLAB reference's high-precision refractory kernel



@dataclasses.dataclass(frozen=True)
class SRMParameters:
    """Constants of a SLAYER SRM neuron layer, named as in slayerPytorch's YAML.

    Attributes:
        theta: threshold ``theta`` (membrane units).
        tau_sr: spike-response time constant ``tauSr`` (ms).
        tau_ref: refractory time constant ``tauRef`` (ms).
        scale_ref: refractory peak relative to ``theta`` (``scaleRef``, default 2).
        tau_rho: surrogate width relative to ``theta`` (``tauRho``): width ``tau_rho * theta``.
        scale_rho: surrogate scale (``scaleRho``); the surrogate integrates to ``2 * scale_rho``.
        ts: simulation step ``Ts`` (ms).
        full_ref_kernel: truncate the refractory kernel at 1e-4 instead of 0.01 (``fullRefKernel``).
    """

    theta: float = 10.0
    tau_sr: float = 10.0
    tau_ref: float = 1.0
    scale_ref: float = 2.0
    tau_rho: float = 1.0
    scale_rho: float = 1.0
    ts: float = 1.0
    full_ref_kernel: bool = False

    def __post_init__(self) -> None:
        for option in ("theta", "tau_sr", "tau_ref", "tau_rho", "scale_rho", "ts"):
            check_positive(option, getattr(self, option))
        if not (math.isfinite(self.scale_ref) and self.scale_ref >= 0):
            raise ConfigError("scale_ref", f"must be a finite number >= 0, got {self.scale_ref!r}")

    @property
    def srm_kernel(self) -> AlphaKernel:
        """The spike-response kernel ``epsilon`` (peak 1 at ``tau_sr``)."""
        return AlphaKernel(self.tau_sr, self.ts)

    @property
    def refractory_kernel(self) -> AlphaKernel:
        """The refractory kernel ``nu`` (minimum ``-scale_ref * theta`` at ``tau_ref``)."""
        epsilon = FULL_REF_TRUNCATION if self.full_ref_kernel else TRUNCATION
        return AlphaKernel(self.tau_ref, self.ts, -self.scale_ref * self.theta, epsilon)

    def estimator(self) -> ExponentialPDF:
        """SLAYER's spike-escape-rate PDF ``scale_rho/(tau_rho theta) exp(-|u - theta|/(tau_rho theta))``."""
        return ExponentialPDF.from_slayer(self.tau_rho, self.scale_rho, self.theta)

    def bins(self, duration_ms: float) -> int:
        """Number of bins ``rint(duration / Ts)`` of a duration in ms (SLAYER's ``rint`` of window edges)."""
        return int(round(duration_ms / self.ts))
