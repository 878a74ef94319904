"""SLAYER recipes (Shrestha & Orchard, NeurIPS 2018): ``slayer-nmnist``, ``slayer-nmnist-mlp``, ``slayer-mnist``,
``slayer-dvsgesture`` and ``slayer-fsdd``; method ``slayer``.

Networks of SRM layers (:mod:`spikegrad.rules.slayer.nets`) trained with the NumSpikes loss (a target
count in the window for the label's neuron, ``true_count``, and for the others, ``false_count``; divided
by the batch size), prediction by the most output spikes. Sources (methods note A4, A5; slayerPytorch
@ 01beeeb): the paper's architectures; neuron constants of the examples' ``network.yaml`` (threshold 10,
tauSr 10, tauRef 1, scaleRef 2, tauRho 1, scaleRho 1, Ts 1 ms) unless the recipe says otherwise; sample
lengths and counts of the repository's configs (N-MNIST 300 ms 60/10, DVS Gesture 1 450 ms 180/30,
MNIST 25 ms); Adam lr 0.01 (the examples' AMSGrad/Nadam are not offered). Tuned for a CPU budget
(measurements in ``benchmarks/RESULTS.md``): ``slayer-nmnist`` tauSr 1 ms, batch 4, 12 epochs with a
cosine decay; ``slayer-fsdd`` 32 mel ON/OFF bands, 64-256-10, cosine decay over 15 epochs.
"""

from __future__ import annotations

import dataclasses
import functools

from spikegrad.data.events import EventBinning, event_indices
from spikegrad.encoding import integrate_and_fire_encode
from spikegrad.errors import ConfigError
from spikegrad.functional.psp import FilterMethod
from spikegrad.losses import BatchReduction
from spikegrad.rules.slayer import nets as slayer_nets
from spikegrad.rules.slayer.loss import CountTarget, num_spikes_loss, predict_class
from spikegrad.rules.slayer.srm import SRMParameters
from spikegrad.train.classification import ClassificationExperiment, ClassificationParts, dense_spikes
from spikegrad.train.config import RunConfig
from spikegrad.train.recipe import Recipe, register
from spikegrad.train.recipe_parts import ImageData, LimitSettings, event_jitter, file_split_loader, grey_images
from spikegrad.train.settings import require, setting

METHODS = ("slayer",)


@dataclasses.dataclass(frozen=True)
class SRMSettings(LimitSettings):
    """The SRM neuron (slayerPytorch's YAML names) and the NumSpikes targets."""

    threshold: float = setting(10.0, "threshold theta (membrane units)")
    tau_sr: float = setting(10.0, "spike-response time constant tauSr (ms)")
    tau_ref: float = setting(1.0, "refractory time constant tauRef (ms)")
    scale_ref: float = setting(2.0, "refractory peak relative to theta (scaleRef)")
    tau_rho: float = setting(1.0, "surrogate width relative to theta (tauRho)")
    scale_rho: float = setting(1.0, "surrogate scale (scaleRho)")
    ts: float = setting(1.0, "time step Ts (ms)")
    filter: FilterMethod = setting(FilterMethod.IIR, "PSP filter: O(T) recursion or the FIR reference")
    sample_ms: float = setting(300.0, "sample length (ms)")
    true_count: float = setting(60.0, "NumSpikes: spikes wanted from the label's neuron in the sample")
    false_count: float = setting(10.0, "NumSpikes: spikes wanted from every other output neuron")

    def check(self) -> None:
        super().check()
        self.neuron()  # the constants are checked there
        require(self.sample_ms >= self.ts, "sample_ms", f"must be >= ts={self.ts} ms, got {self.sample_ms}")
        require(self.true_count >= 0 and self.false_count >= 0, "true_count", "spike counts must be >= 0")

    def neuron(self) -> SRMParameters:
        return SRMParameters(theta=self.threshold, tau_sr=self.tau_sr, tau_ref=self.tau_ref, scale_ref=self.scale_ref,
                             tau_rho=self.tau_rho, scale_rho=self.scale_rho, ts=self.ts)

    def loss(self):
        """NumSpikes over ``[0, sample_ms)``, averaged over the batch."""
        params, method = self.neuron(), self.filter
        target = CountTarget(0.0, self.sample_ms, self.true_count, self.false_count)
        return lambda output, labels: num_spikes_loss(output, labels, params, target, method) / output.shape[1]


@dataclasses.dataclass(frozen=True)
class SlayerEventSettings(SRMSettings):
    """An SRM network on binned event-camera samples."""

    max_shift: int = setting(0, "random translation of the event frames (pixels; SLAYER's maintainer: 8)")
    dropout: float = setting(0.0, "dropout before the layers (DVS Gesture network only)")

    def check(self) -> None:
        super().check()
        require(self.max_shift >= 0, "max_shift", f"must be >= 0 pixels, got {self.max_shift}")
        require(0 <= self.dropout < 1, "dropout", f"must lie in [0, 1), got {self.dropout}")


def _classifier(config: RunConfig, load_split, encode, model) -> ClassificationExperiment:
    settings: SRMSettings = config.settings  # type: ignore[assignment]
    augment = event_jitter(settings.max_shift) if isinstance(settings, SlayerEventSettings) else None
    parts = ClassificationParts(load_split=load_split, encode=encode, model=model, loss=settings.loss(),
                                predict=predict_class, reduction=BatchReduction.MEAN, augment=augment)
    return ClassificationExperiment(config, parts)


def _event_experiment(config: RunConfig, dataset: str, sensor: tuple[int, int], model) -> ClassificationExperiment:
    settings: SlayerEventSettings = config.settings  # type: ignore[assignment]
    binning = EventBinning(sensor_size=sensor, sample_ms=settings.sample_ms, ts=settings.ts)
    load = file_split_loader(dataset, config.data_dir, binning.shape, settings,
                             flat_indices=lambda events: event_indices(events, binning))
    return _classifier(config, load, dense_spikes, model)


def _no_dropout(config: RunConfig) -> None:
    if config.settings.dropout:  # type: ignore[attr-defined]
        raise ConfigError("dropout", f"recipe {config.recipe!r}'s network has no dropout layers")


def build_nmnist(config: RunConfig, mlp: bool) -> ClassificationExperiment:
    _no_dropout(config)
    settings: SlayerEventSettings = config.settings  # type: ignore[assignment]
    build = slayer_nets.nmnist_mlp if mlp else slayer_nets.nmnist_cnn
    return _event_experiment(config, "nmnist", (34, 34), build(settings.neuron(), settings.filter))


def build_dvs(config: RunConfig) -> ClassificationExperiment:
    settings: SlayerEventSettings = config.settings  # type: ignore[assignment]
    model = slayer_nets.dvs_gesture_cnn(settings.neuron(), dropout=settings.dropout, method=settings.filter)
    return _event_experiment(config, "dvs-gesture", (128, 128), model)


EVENTS = dict(method="slayer", lr=0.01, eval_batch_size=25)

register(Recipe(
    name="slayer-nmnist",
    summary="SLAYER: N-MNIST CNN 34x34x2-12c5-2a-64c5-2a-10o, 300 ms at Ts 1 ms, NumSpikes 60/10 (paper 99.20 %)",
    defaults=RunConfig(recipe="slayer-nmnist", settings=SlayerEventSettings(tau_sr=1.0), epochs=12, batch_size=4,
                       schedule="cosine", **EVENTS),
    methods=METHODS,
    build=lambda config: build_nmnist(config, mlp=False),
))

register(Recipe(
    name="slayer-nmnist-mlp",
    summary="SLAYER: N-MNIST MLP 34x34x2-500-500-10, 300 ms at Ts 1 ms, NumSpikes 60/10 (paper 98.89 %)",
    defaults=RunConfig(recipe="slayer-nmnist-mlp", settings=SlayerEventSettings(), epochs=100, batch_size=8, **EVENTS),
    methods=METHODS,
    build=lambda config: build_nmnist(config, mlp=True),
))

register(Recipe(
    name="slayer-dvsgesture",
    summary="SLAYER: DVS Gesture 128x128x2-4a-16c5d-2a-32c3d-2a-512d-11 with learned delays, 1450 ms, NumSpikes 180/30",
    defaults=RunConfig(recipe="slayer-dvsgesture", settings=SlayerEventSettings(
        sample_ms=1450.0, true_count=180.0, false_count=30.0, dropout=0.1), epochs=500, batch_size=4,
        **{**EVENTS, "eval_batch_size": 4}),
    methods=METHODS,
    build=build_dvs,
))


# -- MNIST (static images as integrate-and-fire spike trains) --------------------------------------

@dataclasses.dataclass(frozen=True)
class SlayerImageSettings(SRMSettings):
    """SLAYER's MNIST CNN on deterministic integrate-and-fire spike trains."""

    if_gain: float = setting(0.5, "integrate-and-fire gain: a white pixel spikes every 1/gain steps")

    def check(self) -> None:
        super().check()
        require(0 < self.if_gain <= 1, "if_gain", f"must lie in (0, 1], got {self.if_gain}")


def build_mnist(config: RunConfig) -> ClassificationExperiment:
    settings: SlayerImageSettings = config.settings  # type: ignore[assignment]
    params = settings.neuron()
    steps = params.bins(settings.sample_ms)
    return _classifier(config, ImageData("mnist", config.data_dir, grey_images, settings),
                       lambda x, generator: integrate_and_fire_encode(x, steps, settings.if_gain),
                       slayer_nets.mnist_cnn(params, settings.filter))


register(Recipe(
    name="slayer-mnist",
    summary="SLAYER: MNIST CNN 28x28-12c5-2a-64c5-2a-10o on 25 ms integrate-and-fire spike trains (paper 99.36 %)",
    defaults=RunConfig(recipe="slayer-mnist", settings=SlayerImageSettings(sample_ms=25.0, true_count=10.0,
                                                                           false_count=2.0),
                       method="slayer", epochs=20, batch_size=12, lr=0.01),
    methods=METHODS,
    build=build_mnist,
))


# -- Free Spoken Digit Dataset (TIDIGITS substitute) -----------------------------------------------

@dataclasses.dataclass(frozen=True)
class SlayerAudioSettings(SRMSettings):
    """Mel-band ON/OFF send-on-delta spikes of spoken digits into a fully connected SRM network."""

    n_mels: int = setting(32, "mel bands (2 x n_mels input channels: ON and OFF)")
    window_ms: float = setting(25.0, "analysis window (ms); one frame per time step")
    delta_db: float = setting(3.0, "send-on-delta step (dB)")
    range_db: float = setting(60.0, "dynamic range below the loudest band (dB)")
    hidden: int = setting(256, "hidden neurons")
    held_out_speaker: str = setting("", "speaker-independent split: test on every recording of this speaker, "
                                        "train on the others ('' = FSDD's official split)")
    speaker_norm: bool = setting(False, "normalise every mel band's level by the recording's speaker (statistics "
                                        "of each speaker's unlabelled recordings, spikegrad.data.speaker_norm)")

    def check(self) -> None:
        super().check()
        require(self.n_mels >= 1 and self.hidden >= 1, "hidden", "n_mels and hidden must be >= 1")


def build_fsdd(config: RunConfig) -> ClassificationExperiment:
    from spikegrad.data.audio import MelSpikeEncoder, fsdd
    from spikegrad.data.speaker_norm import SpeakerNormalisation

    settings: SlayerAudioSettings = config.settings  # type: ignore[assignment]
    encoder = MelSpikeEncoder(sample_rate=8000, n_mels=settings.n_mels, ts=settings.ts, window_ms=settings.window_ms,
                              delta_db=settings.delta_db, range_db=settings.range_db, sample_ms=settings.sample_ms)
    shape = (settings.neuron().bins(settings.sample_ms), 2, settings.n_mels)
    speaker = settings.held_out_speaker or None
    statistics = functools.cache(lambda folder: SpeakerNormalisation.of_fsdd(folder, encoder))

    def split_files(folder, split):
        return fsdd(folder, split, encoder, speaker, statistics(folder) if settings.speaker_norm else None)

    load = file_split_loader("fsdd", config.data_dir, shape, settings, transform=encoder, split_files=split_files)
    model = slayer_nets.fsdd_mlp(2 * settings.n_mels, settings.hidden, settings.neuron(), settings.filter)
    return _classifier(config, load, dense_spikes, model)


register(Recipe(
    name="slayer-fsdd",
    summary="SLAYER: spoken digits (FSDD), mel ON/OFF spikes -> fully connected 64-256-10, NumSpikes",
    defaults=RunConfig(recipe="slayer-fsdd", settings=SlayerAudioSettings(sample_ms=1000.0), method="slayer",
                       epochs=15, batch_size=16, lr=0.01, schedule="cosine", eval_batch_size=50),
    methods=METHODS,
    build=build_fsdd,
))
