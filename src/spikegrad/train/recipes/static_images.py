"""LIF MLPs on rate-coded static images: ``digits`` (the default) and ``mnist-mlp``; any rule.

Images are scaled to [0, 1] and rate-coded: pixel intensity is the spike probability per step. The
network is a multilayer perceptron of LIF neurons (dt = 1 ms); the loss is the cross-entropy of the
output firing rates and the prediction is the output neuron that spikes most (``bptt``, ``slayer``; ``lee``
and ``na`` bring their readouts and losses). Settings: ours (no paper).

Beyond the papers' neurons (``bptt`` and ``slayer`` only; the other rules refuse them with the reason):
``learn_decay``/``learn_threshold`` train every layer's decay and threshold (per layer or per neuron),
``adapt_strength > 0`` makes the hidden layers adaptive-threshold LIF (time constant ``tau_adapt``) and
``recurrent`` gives the hidden layers recurrent weights.
"""

from __future__ import annotations

import dataclasses

import torch

from spikegrad.encoding import poisson_encode
from spikegrad.functional.neuron import ALIFParameters, LIFParameters, NeuronParameters, Reset
from spikegrad.losses import BatchReduction, rate_cross_entropy
from spikegrad.nn import Dense, SNNSequential, TimeFixedDropout
from spikegrad.nn.own_weights import Granularity, OwnParameters
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
    learn_decay: Granularity | None = setting(None, "train every layer's membrane decay (layer or neuron)")
    learn_threshold: Granularity | None = setting(None, "train every layer's threshold (layer or neuron)")
    adapt_strength: float = setting(0.0, "hidden layers: adaptive threshold, b per spike (0: plain LIF)")
    tau_adapt: float = setting(100.0, "time constant of the threshold adaptation (ms)")
    recurrent: bool = setting(False, "hidden layers: recurrent weights from their own spikes")

    def check(self) -> None:
        LimitSettings.check(self)
        RuleSettings.check(self)
        require(self.steps >= 1, "steps", f"must be >= 1, got {self.steps}")
        require(all(h >= 1 for h in self.hidden), "hidden", f"layer sizes must be >= 1, got {list(self.hidden)}")
        require(self.tau_mem > 0, "tau_mem", f"must be > 0 ms, got {self.tau_mem}")
        require(0 <= self.dropout < 1, "dropout", f"must lie in [0, 1), got {self.dropout}")
        require(self.rate_scale > 0, "rate_scale", f"must be > 0, got {self.rate_scale}")
        require(self.max_shift >= 0, "max_shift", f"must be >= 0 pixels, got {self.max_shift}")
        require(self.adapt_strength >= 0, "adapt_strength", f"must be >= 0, got {self.adapt_strength}")
        require(self.tau_adapt > 0, "tau_adapt", f"must be > 0 ms, got {self.tau_adapt}")


def neuron_spec(settings: RateImageSettings, output: bool, size: int) -> NeuronSpec:
    """The slot of a layer of ``size`` neurons (dt = 1 ms): LIF, or ALIF in hidden layers when
    ``adapt_strength > 0``, with the trainable constants and recurrent weights the settings ask for."""
    params: NeuronParameters = LIFParameters(tau_mem=settings.tau_mem, reset=settings.reset)
    if settings.adapt_strength > 0 and not output:
        params = ALIFParameters(tau_mem=settings.tau_mem, reset=settings.reset, tau_adapt=settings.tau_adapt,
                                adapt_strength=settings.adapt_strength)
    recurrent = settings.recurrent and not output
    own = None
    if settings.learn_decay is not None or settings.learn_threshold is not None or recurrent:
        own = OwnParameters(size, settings.learn_decay, settings.learn_threshold, recurrent)
    return NeuronSpec(params, Role.OUTPUT if output else Role.HIDDEN, own=own)


def lif_mlp(sizes: list[int], settings: RateImageSettings, layer: Realize) -> SNNSequential:
    """Dense -> LIF layers of the given sizes (``[in, hidden..., out]``), dropout after hidden layers;
    ``layer`` is the rule's module of each neuron slot."""
    layers: list[torch.nn.Module] = []
    last = len(sizes) - 2
    for index, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        if index > 0 and settings.dropout > 0:
            layers.append(TimeFixedDropout(settings.dropout))
        layers += [Dense(n_in, n_out), layer(neuron_spec(settings, index == last, n_out))]
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
    head = rule.head(neuron_spec(settings, output=True, size=data.num_classes), recipe_head)
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
