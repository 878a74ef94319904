"""LIF MLPs on rate-coded static images: ``digits`` (the default) and ``mnist-mlp``; any rule.

Images are scaled to [0, 1] and rate-coded: pixel intensity is the spike probability per step. The
network is a multilayer perceptron of LIF neurons (dt = 1 ms); the loss is the cross-entropy of the
output firing rates and the prediction is the output neuron that spikes most (``bptt``, ``slayer``; ``lee``
and ``na`` bring their readouts and losses). Settings: ours (no paper).
"""

from __future__ import annotations

import dataclasses

import torch

from spikegrad.encoding import poisson_encode
from spikegrad.functional.neuron import LIFParameters, Reset
from spikegrad.losses import BatchReduction, rate_cross_entropy
from spikegrad.nn import Dense, SNNSequential, TimeFixedDropout
from spikegrad.nn.spec import NeuronSpec, OutputKind, Realize, Role
from spikegrad.rules.plugin import Head
from spikegrad.train.classification import ClassificationExperiment, ClassificationParts, spike_count_prediction
from spikegrad.train.config import RunConfig
from spikegrad.train.recipe import Recipe, register
from spikegrad.train.recipe_parts import CLASSIFIERS, ImageData, LimitSettings, grey_images, run_rule
from spikegrad.train.rule_settings import RuleSettings
from spikegrad.train.settings import require, setting


@dataclasses.dataclass(frozen=True)
class RateImageSettings(LimitSettings, RuleSettings):
    """A LIF MLP on Poisson rate-coded images."""

    steps: int = setting(25, "time steps per image")
    hidden: tuple[int, ...] = setting((128,), "hidden layer sizes")
    tau_mem: float = setting(10.0, "membrane time constant (ms, dt = 1 ms)")
    reset: Reset = setting(Reset.SUBTRACT, "membrane reset after a spike")
    dropout: float = setting(0.0, "dropout after each hidden layer (one mask for all steps)")
    rate_scale: float = setting(10.0, "logits = rate_scale x output firing rate")
    max_shift: int = setting(0, "random translation of up to this many pixels")

    def check(self) -> None:
        LimitSettings.check(self)
        RuleSettings.check(self)
        require(self.steps >= 1, "steps", f"must be >= 1, got {self.steps}")
        require(all(h >= 1 for h in self.hidden), "hidden", f"layer sizes must be >= 1, got {list(self.hidden)}")
        require(self.tau_mem > 0, "tau_mem", f"must be > 0 ms, got {self.tau_mem}")
        require(0 <= self.dropout < 1, "dropout", f"must lie in [0, 1), got {self.dropout}")
        require(self.rate_scale > 0, "rate_scale", f"must be > 0, got {self.rate_scale}")
        require(self.max_shift >= 0, "max_shift", f"must be >= 0 pixels, got {self.max_shift}")


def neuron_spec(settings: RateImageSettings, output: bool) -> NeuronSpec:
    """The LIF slot of every layer (dt = 1 ms)."""
    params = LIFParameters(tau_mem=settings.tau_mem, reset=settings.reset)
    return NeuronSpec(params, Role.OUTPUT if output else Role.HIDDEN)


def lif_mlp(sizes: list[int], settings: RateImageSettings, layer: Realize) -> SNNSequential:
    """Dense -> LIF layers of the given sizes (``[in, hidden..., out]``), dropout after hidden layers;
    ``layer`` is the rule's module of each neuron slot."""
    layers: list[torch.nn.Module] = []
    last = len(sizes) - 2
    for index, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        if index > 0 and settings.dropout > 0:
            layers.append(TimeFixedDropout(settings.dropout))
        layers += [Dense(n_in, n_out), layer(neuron_spec(settings, index == last))]
    return SNNSequential(*layers)


def build_rate_mlp(config: RunConfig, dataset: str) -> ClassificationExperiment:
    from spikegrad.data.augment import random_shift

    settings: RateImageSettings = config.settings  # type: ignore[assignment]
    rule = run_rule(config)
    data = ImageData(dataset, config.data_dir, grey_images, settings)
    height, width = data.image_shape
    shift = settings.max_shift
    recipe_head = Head(OutputKind.SPIKES, lambda out, y: rate_cross_entropy(out, y, scale=settings.rate_scale),
                       spike_count_prediction, BatchReduction.MEAN)
    head = rule.head(neuron_spec(settings, output=True), recipe_head)
    parts = ClassificationParts(
        load_split=data,
        encode=lambda x, g: poisson_encode(x.flatten(1), settings.steps, g),
        model=lif_mlp([height * width, *settings.hidden, data.num_classes], settings, rule.layer),
        loss=head.loss,
        predict=head.predict,
        reduction=head.reduction,
        augment=(lambda x, g: random_shift(x, shift, g)) if shift > 0 else None,
    )
    return ClassificationExperiment(config, parts, {"rule": repr(rule)})


register(Recipe(
    name="digits",
    summary="default: LIF MLP 64-128-10, surrogate BPTT, rate-coded scikit-learn 8x8 digits (no download)",
    defaults=RunConfig(recipe="digits", settings=RateImageSettings(), method="bptt", epochs=20, batch_size=32,
                       lr=2e-3, schedule="cosine"),
    methods=CLASSIFIERS,
    build=lambda config: build_rate_mlp(config, "digits"),
    needs_data=False,
))

register(Recipe(
    name="mnist-mlp",
    summary="LIF MLP 784-512-10, surrogate BPTT, rate-coded MNIST (IDX or the 5k CSV subset) from --data-dir",
    defaults=RunConfig(recipe="mnist-mlp", settings=RateImageSettings(steps=20, hidden=(512,), dropout=0.2, max_shift=2),
                       method="bptt", epochs=20, batch_size=64, lr=1e-3, schedule="cosine"),
    methods=CLASSIFIERS,
    build=lambda config: build_rate_mlp(config, "mnist"),
))
