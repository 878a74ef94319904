"""A learning rule as a plug-in: what it trains, how it makes gradients, and the modules it builds.

Networks are described independently of the rule (:mod:`spikegrad.nn.spec`): synapses plus neuron slots.
A :class:`Rule` turns each slot into a module (:meth:`Rule.layer`) and says which loss and prediction
training uses (:meth:`Rule.head`): the recipe's own when the rule's output layer gives what that loss
expects, else the rule's own (Lee's integrating readout and squared error, NA's synaptic-trace loss).
Where a rule cannot train a slot it raises a :class:`~spikegrad.errors.ConfigError` saying why, so
``--method`` is refused with the reason. NormAD, which writes ``param.grad`` itself, trains its own
continuous-time networks only.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import ClassVar

import torch
from torch import nn

from spikegrad.errors import ConfigError
from spikegrad.losses.reduction import BatchReduction
from spikegrad.nn.spec import NeuronSpec, OutputKind, ReadoutSpec


@dataclasses.dataclass(frozen=True)
class Head:
    """What a classifier's output layer gives (``kind``), the loss on it, the prediction from it, and
    whether the loss is a mean or a sum over the batch (``reduction``: how multi-process training weights it)."""

    kind: OutputKind
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    predict: Callable[[torch.Tensor], torch.Tensor]
    reduction: BatchReduction


class Rule(ABC):
    """A learning rule (see the module docstring). Subclasses are frozen dataclasses of the rule's options.

    Class attributes (for ``spikegrad compare`` tables and error messages):
        name: the ``--method`` name.
        gradient: how the rule makes gradients, in a few words.
        trains: which neurons it trains.
    """

    name: ClassVar[str]
    gradient: ClassVar[str]
    trains: ClassVar[str]

    @abstractmethod
    def layer(self, spec: NeuronSpec | ReadoutSpec) -> nn.Module:
        """The module of one neuron slot (ConfigError, with the reason, where the rule cannot train it)."""

    def output_kind(self, spec: NeuronSpec | ReadoutSpec) -> OutputKind:
        """What this rule's module for the output slot ``spec`` gives the loss (default: what the slot gives)."""
        return OutputKind.READOUT if isinstance(spec, ReadoutSpec) else spec.output_kind

    def own_head(self, spec: NeuronSpec | ReadoutSpec) -> Head | None:
        """The loss and prediction the rule brings for its output layer (None: it brings none)."""
        return None

    def head(self, spec: NeuronSpec | ReadoutSpec, recipe: Head) -> Head:
        """The recipe's head when this rule's output gives what it expects, else the rule's own."""
        if self.output_kind(spec) is recipe.kind:
            return recipe
        own = self.own_head(spec)
        if own is None:
            raise ConfigError("method", f"{self.name}'s output layer gives {self.output_kind(spec).value}, and the "
                              f"recipe's loss needs {recipe.kind.value}")
        return own

    def shared_slot(self, spec: object) -> NeuronSpec | ReadoutSpec:
        """``spec``, checked to be a slot of the shared neurons; a slot type of one rule's own (SLAYER's SRM
        slots) is refused by the others with the reason."""
        if not isinstance(spec, (NeuronSpec, ReadoutSpec)):
            raise self.not_for(f"{getattr(spec, 'neuron_name', type(spec).__name__)} neurons")
        return spec

    def refuse_beyond_papers(self, spec: NeuronSpec, why: str) -> None:
        """Refuse (ConfigError with ``why``) a slot whose neurons adapt their threshold or train their own
        decay, threshold or recurrent weights, for a rule whose derivation has no place for them."""
        if spec.params.adaptation is not None:
            raise self.not_for(f"adaptive-threshold neurons ({type(spec.params).__name__}): {why}")
        if spec.own is not None:
            raise self.not_for(f"neurons with {spec.own.describe()}: {why}")

    def not_for(self, what: str) -> ConfigError:
        """The refusal for a slot this rule cannot train."""
        return ConfigError("method", f"{self.name} trains {self.trains}; it cannot train {what}")
