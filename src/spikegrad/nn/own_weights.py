r"""A spiking layer's own trainable tensors: membrane decay, threshold and recurrent weights.

The shared neuron's constants are frozen dataclasses; :class:`OwnWeights` makes some of them
``nn.Parameter``\ s, per layer (one scalar) or per neuron (one value per feature), kept in their valid
ranges by a fixed transform of an unconstrained raw parameter:

.. math::
    \beta = \mathrm{sigmoid}(r_\beta) \in (0, 1)\ \ (\tau_{mem} = -dt / \ln\beta \in (0, \infty)\ \text{ms}),
    \qquad \vartheta_0 = \mathrm{softplus}(r_\vartheta) = \ln(1 + e^{r_\vartheta}) > 0

(the decay as SpikingJelly's PLIF trains it, through a sigmoid; the threshold through softplus, so it
never reaches 0). Raw parameters start at the inverse transform of the neuron's constants, so a fresh
layer behaves as its non-trainable twin up to float rounding of the round trip. Recurrent weights
``W_rec[N, N]`` feed ``W_rec s_{t-1}`` into the input current (:class:`~spikegrad.functional.NeuronWeights`)
and start at zero: a fresh recurrent layer is its feed-forward twin, and building it draws no random
numbers, so the rest of a network is initialised exactly as without it. Gradients of all three come from
the shared scan's O(T) backward (:func:`~spikegrad.functional.neuron_scan`).
"""

from __future__ import annotations

import dataclasses
import enum
import math

import torch
import torch.nn.functional as F
from torch import nn

from spikegrad.errors import ConfigError
from spikegrad.functional.neuron import NeuronParameters, NeuronWeights


class Granularity(enum.Enum):
    """One trainable value for the whole layer, or one per neuron."""

    LAYER = "layer"
    NEURON = "neuron"


@dataclasses.dataclass(frozen=True)
class OwnParameters:
    """What a spiking layer trains of its own neurons (see the module docstring).

    Attributes:
        size: the layer's neurons (features ``N`` of inputs ``[T, B, N]``); per-neuron values have shape ``[N]``.
        decay: train the membrane decay beta (None: the parameters' constant).
        threshold: train the threshold theta_0 (None: the parameters' constant).
        recurrent: add recurrent weights ``W_rec[N, N]`` from the layer's own spikes of the previous step.
    """

    size: int
    decay: Granularity | None = None
    threshold: Granularity | None = None
    recurrent: bool = False

    def __post_init__(self) -> None:
        if not (isinstance(self.size, int) and self.size >= 1):
            raise ConfigError("size", f"a spiking layer with own weights needs >= 1 neurons, got {self.size!r}")
        for name in ("decay", "threshold"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Granularity):
                try:
                    object.__setattr__(self, name, Granularity(value))
                except ValueError:
                    raise ConfigError(f"learn_{name}", f"expected one of {[g.value for g in Granularity]} or None, "
                                      f"got {value!r}") from None

    def describe(self) -> str:
        """E.g. ``trainable decay (per neuron), recurrent weights``."""
        parts = [f"trainable {name} (per {getattr(self, name).value})" for name in ("decay", "threshold")
                 if getattr(self, name) is not None]
        return ", ".join(parts + (["recurrent weights"] if self.recurrent else [])) or "no own weights"


def _shape(granularity: Granularity, size: int) -> tuple[int, ...]:
    return () if granularity is Granularity.LAYER else (size,)


class OwnWeights(nn.Module):
    """The ``nn.Parameter``\\ s of :class:`OwnParameters` for neurons ``params``; ``forward()`` gives the
    :class:`~spikegrad.functional.NeuronWeights` the scan takes.

    Attributes:
        raw_decay: ``r_beta`` (``beta = sigmoid(r_beta)``), or absent.
        raw_threshold: ``r_theta`` (``theta_0 = softplus(r_theta)``), or absent.
        recurrent: ``W_rec[N, N]`` (row: receiving neuron, column: sending neuron), or absent.
    """

    def __init__(self, spec: OwnParameters, params: NeuronParameters, dtype: torch.dtype | None = None,
                 device: torch.device | str | None = None):
        super().__init__()
        self.spec = spec
        factory = {"dtype": dtype if dtype is not None else torch.get_default_dtype(), "device": device}
        if spec.decay is not None:
            beta = params.mem_decay
            if not 0 < beta < 1:
                raise ConfigError("learn_decay", f"needs a leaky neuron with 0 < beta < 1, got beta = {beta:g} "
                                  f"({type(params).__name__})")
            logit = math.log(beta / (1 - beta))
            self.raw_decay = nn.Parameter(torch.full(_shape(spec.decay, spec.size), logit, **factory))
        if spec.threshold is not None:
            theta = params.threshold
            raw = theta + math.log(-math.expm1(-theta))  # softplus^-1, stable for large theta
            self.raw_threshold = nn.Parameter(torch.full(_shape(spec.threshold, spec.size), raw, **factory))
        if spec.recurrent:
            self.recurrent = nn.Parameter(torch.zeros(spec.size, spec.size, **factory))

    def forward(self) -> NeuronWeights:
        return NeuronWeights(
            decay=torch.sigmoid(self.raw_decay) if self.spec.decay is not None else None,
            threshold=F.softplus(self.raw_threshold) if self.spec.threshold is not None else None,
            recurrent=self.recurrent if self.spec.recurrent else None,
        )

    def extra_repr(self) -> str:
        return self.spec.describe()
