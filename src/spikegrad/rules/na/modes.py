r"""Typed options of the NA backward pass: the two modes and the original code's layer rescaling.

For neighbour ``k`` of a neuron (its spike at step ``k`` flipped by the minimal kick, methods note B4.3)
the backward pass estimates the loss change ``Delta L_k`` and divides by the signed membrane distance
``theta - u[k]`` (the kick, in current units). The modes differ in how:

- :class:`Faithful` (the original code, ``functions/na.py`` at the result commit, B4.4):
  ``delta[k] = (e . Delta a_k) * clamp((theta - u[k])^-3, -5, 5)`` with ``e`` the trace-accumulated
  upstream gradient, and optionally the layer-wise rescaling of :class:`LayerRescaling`.
- :class:`Paper` (the poster's finite difference): ``delta[k] = Delta L_k / (theta - u[k])``, with
  ``Delta L_k`` chosen by :class:`LossChange`; at the output layer it can be the exact loss difference.

A neuron far below threshold (``theta - u = 3``) is weighted ``1/27`` in the faithful mode and ``1/3``
in the paper mode.
"""

from __future__ import annotations

import dataclasses
import enum
import math

import torch

from spikegrad.errors import ConfigError, check_positive


class LossChange(enum.Enum):
    r"""How the loss change of a neighbour is estimated from ``g = dL/da`` (``a``: the layer's trace).

    - ``ACCUMULATED``: ``e . (a_k - a)`` with ``e[t] = g[t] + (1 - 1/tau_s) e[t+1]``: the poster's and the
      code's form. It applies the synaptic filter twice; it agrees with the first-order change only when
      the neighbour differs at the last step alone.
    - ``FIRST_ORDER``: ``g . (a_k - a)``, the exact first-order change of the loss.
    - ``EXACT``: ``g . (a_k - a) + (c/2) ||a_k - a||^2``: the exact difference ``L(a_k) - L(a)`` for a
      loss that is quadratic in the trace with curvature ``c`` (the trace loss of
      :mod:`spikegrad.rules.na.loss`: ``c = 1`` when summed over the batch). Output layer only.
    """

    ACCUMULATED = "accumulated"
    FIRST_ORDER = "first-order"
    EXACT = "exact"



@dataclasses.dataclass(frozen=True)
class Faithful:
    """The original code's NA backward (methods note B4.4).

    Attributes:
        clamp: bound of the distance weight ``clamp((theta - u)^-3, -clamp, clamp)`` (code: 5).
        rescale: apply the layer-wise rescaling (:class:`LayerRescaling`; the code always does, off here
            by default: under Adam it changes little except through gradient clipping).
    """

    clamp: float = 5.0
    rescale: bool = False

    def __post_init__(self) -> None:
        check_positive("clamp", self.clamp)

    def loss_change(self, is_output: bool) -> LossChange:
        return LossChange.ACCUMULATED

    def weight(self, gap: torch.Tensor) -> torch.Tensor:
        """Distance weight for ``gap = theta - u[k]`` (cube, then clamp; ``gap = 0`` gives ``+clamp``).
        Overwrites ``gap``, a temporary."""
        return gap.pow_(-3).clamp_(-self.clamp, self.clamp)


@dataclasses.dataclass(frozen=True)
class Paper:
    """The poster's finite difference ``(L(u_k) - L(u)) / (theta - u[k])`` (methods note B4.3, B9).

    Attributes:
        estimate: estimate of ``L(u_k) - L(u)`` in every layer (see :class:`LossChange`; ``EXACT`` only
            for a layer built as the output layer).
        exact_output: use ``LossChange.EXACT`` at the output layer whatever ``loss_change`` says.
        curvature: ``c`` of the exact difference: 1 for the trace loss summed over the batch, ``1/B`` for
            its batch mean.
        min_distance: ``|theta - u|`` is floored at this value before dividing (the poster's weight is
            unbounded at the threshold; UNVERIFIED: the paper's handling of this case is not known).
    """

    estimate: LossChange = LossChange.ACCUMULATED
    exact_output: bool = False
    curvature: float = 1.0
    min_distance: float = 1e-3

    def __post_init__(self) -> None:
        if not isinstance(self.estimate, LossChange):
            try:
                object.__setattr__(self, "estimate", LossChange(self.estimate))
            except ValueError:
                raise ConfigError("loss_change", f"expected one of {[c.value for c in LossChange]}, "
                                  f"got {self.estimate!r}") from None
        check_positive("min_distance", self.min_distance)
        if not (math.isfinite(self.curvature) and self.curvature >= 0):
            raise ConfigError("curvature", f"must be a finite number >= 0, got {self.curvature!r}")

    def loss_change(self, is_output: bool) -> LossChange:
        if is_output and self.exact_output:
            return LossChange.EXACT
        if self.estimate is LossChange.EXACT and not is_output:
            raise ConfigError("loss_change", "the exact loss difference is only known at the output layer; "
                              "use 'accumulated' or 'first-order' for hidden layers (or exact_output=True)")
        return self.estimate

    def weight(self, gap: torch.Tensor) -> torch.Tensor:
        """``1 / (theta - u[k])``, with ``|theta - u|`` floored at ``min_distance`` (``gap = 0`` counts as +).
        Overwrites ``gap``, a temporary."""
        return torch.copysign(gap.abs().clamp_(min=self.min_distance), gap, out=gap).reciprocal_()


NARule = Faithful | Paper
"""The NA backward modes."""


class LayerRescaling:
    r"""The original code's layer-wise gradient rescaling, with its state here instead of a global dict.

    After the distance weighting, each layer's ``delta`` is multiplied by
    ``1.2 ln(m_out / (m + 1e-5) + 1.02)`` where ``m = mean |delta|`` over the layer's whole tensor (batch
    included) and ``m_out`` is the output layer's stored mean. The code stores 3-decimal rounded means,
    once before and once after the rescaling, and takes as "output layer" the first layer it ever sees
    (the backward pass meets the output layer first). For the output layer itself the factor is about
    ``1.2 ln 2.02 = 0.844``. If the output layer's mean rounds to 0 (``< 5e-4``), every later factor
    collapses to ``1.2 ln 1.02 = 0.024``: kept, as in the code (methods note B7.2).

    One object is shared by all layers of a network (:func:`spikegrad.rules.na.nets.share_rescaling`);
    each layer passes its own ``key`` (its index).
    """

    def __init__(self) -> None:
        self.means: dict[int, float] = {}
        self.output_key: int | None = None

    def reset(self) -> None:
        self.means.clear()
        self.output_key = None

    def _store(self, delta: torch.Tensor, key: int) -> None:
        self.means[key] = round(float(delta.abs().mean()), 3)

    def __call__(self, delta: torch.Tensor, key: int) -> torch.Tensor:
        if self.output_key is None:
            self.output_key = key
        self._store(delta, key)
        mean = delta.abs().mean()
        factor = torch.log(self.means[self.output_key] / (mean + 1e-5) + 1.02) * 1.2
        delta = delta * factor
        self._store(delta, key)
        return delta

    def __repr__(self) -> str:
        return f"LayerRescaling(output_key={self.output_key}, means={self.means})"
