r"""How far an approximate NIR export is from the network: spike agreement measured on given inputs.

NIR cannot express reset by subtraction (:mod:`spikegrad.export.writer`), so ``to_nir(approximate=True)``
writes such neurons as reset to zero. Whether that is good enough depends on the network and the data;
these functions measure it, comparing spike tensors ``[T, B, ...]`` of the same layers:

- ``matching``: the fraction of entries (step, sample, neuron) equal in both, over every spiking layer;
- ``coincidence``: spikes present in both at the same entry divided by the entries where either spikes,
  ``|A and B| / |A or B|`` (1 when neither spikes): unlike ``matching`` it ignores agreeing silence;
- ``output_matching``: ``matching`` of the last (spiking) layer alone;
- ``predictions``: the fraction of samples whose output neuron with the most spikes is the same
  (spikegrad's spike-count prediction, ties to the lowest index);
- ``reference_spikes`` / ``candidate_spikes``: output spike totals.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import torch
from torch import nn

from spikegrad.errors import ShapeError
from spikegrad.export.reader import from_nir
from spikegrad.export.writer import flatten_layers, to_nir
from spikegrad.nn import SpikingNeuron, StatefulModule


@dataclasses.dataclass(frozen=True)
class SpikeAgreement:
    """Agreement of two networks' spikes on the same inputs (see the module docstring for each figure)."""

    matching: float
    coincidence: float
    output_matching: float
    predictions: float
    reference_spikes: int
    candidate_spikes: int

    def __str__(self) -> str:
        return (
            f"spike agreement {self.matching:.2%} of entries over every spiking layer, coincident spikes "
            f"{self.coincidence:.2%}, output layer {self.output_matching:.2%}, predictions {self.predictions:.2%}, "
            f"output spikes {self.reference_spikes} (network) vs {self.candidate_spikes} (export)"
        )


def spike_agreement(reference: Sequence[torch.Tensor], candidate: Sequence[torch.Tensor]) -> SpikeAgreement:
    """Compare two lists of per-layer spike tensors ``[T, B, ...]`` (the last is the output layer).

    Layers are paired in order and must have equal shapes; entries are 0/1 spikes.
    """
    if len(reference) != len(candidate) or not reference:
        raise ShapeError("spike records", f"{len(reference)} non-empty layers in both", f"{len(candidate)} layers")
    equal = total = both = either = 0
    for index, (a, b) in enumerate(zip(reference, candidate)):
        if a.shape != b.shape:
            raise ShapeError(f"layer {index} spikes", f"{list(a.shape)} in both", tuple(b.shape))
        a, b = a.detach().cpu() > 0, b.detach().cpu() > 0
        equal += int((a == b).sum())
        total += a.numel()
        both += int((a & b).sum())
        either += int((a | b).sum())
    out_a, out_b = reference[-1].detach().cpu(), candidate[-1].detach().cpu()
    if out_a.dim() < 2:
        raise ShapeError("output spikes", "[T, B, ...]", tuple(out_a.shape))
    counts_a, counts_b = out_a.sum(0).flatten(1), out_b.sum(0).flatten(1)
    return SpikeAgreement(
        matching=equal / total,
        coincidence=both / either if either else 1.0,
        output_matching=float(((out_a > 0) == (out_b > 0)).float().mean()),
        predictions=float((counts_a.argmax(-1) == counts_b.argmax(-1)).float().mean()),
        reference_spikes=int(out_a.sum()),
        candidate_spikes=int(out_b.sum()),
    )


@torch.no_grad()
def record_spikes(model: nn.Module, inputs: torch.Tensor) -> list[torch.Tensor]:
    """Spikes ``[T, B, ...]`` of every spiking-neuron layer of ``model`` on ``inputs`` (eval mode, zero state).

    The last entry, the last spiking layer, counts as the output layer.
    """
    training = model.training
    model.eval()
    try:
        records, x = [], inputs
        for _, layer in flatten_layers(model):
            x = layer(x)[0] if isinstance(layer, StatefulModule) else layer(x)
            if isinstance(layer, SpikingNeuron):
                records.append(x)
    finally:
        model.train(training)
    if not records:
        raise ShapeError("model", "at least one spiking-neuron layer to compare", "none")
    return records


def approximate_agreement(
    model: nn.Module, inputs: torch.Tensor, dt: float | None = None, input_shape: Sequence[int] | None = None
) -> SpikeAgreement:
    """Spike agreement between ``model`` and its approximate NIR export read back, on ``inputs[T, B, ...]``.

    Writes ``to_nir(model, dt, input_shape, approximate=True)`` (reset by subtraction as reset to zero),
    rebuilds it with :func:`~spikegrad.export.from_nir` and compares every spiking layer. A network without
    subtraction gives 100 % (the export is exact). ``dt`` (s) and ``input_shape`` as in :func:`to_nir`
    (``input_shape`` defaults to ``inputs.shape[2:]``).
    """
    shape = tuple(inputs.shape[2:]) if input_shape is None else input_shape
    exported = from_nir(to_nir(model, dt=dt, input_shape=shape, approximate=True))
    return spike_agreement(record_spikes(model, inputs), record_spikes(exported, inputs))
