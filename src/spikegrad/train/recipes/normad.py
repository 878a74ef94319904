"""NormAD recipes (Anwani & Rajendran 2015; multi-layer: arXiv:1811.10678): ``normad-single``, ``normad-xor``,
``normad-3layer``.

Continuous-time LIF networks (:mod:`spikegrad.rules.normad`: 300 pF, 30 nS, threshold 20 mV above rest,
2 ms refractory; double-exponential synapses; dt 0.1 ms) learn desired spike trains. Each epoch presents
the whole problem once and makes one NormAD update (the rule writes ``param.grad``; SGD without momentum
applies it with one learning rate per layer, ``rate_pa``, scaled by the run's ``lr``); training stops once
the problem is solved. Sources: problems and per-layer initialisations/rates of
``docs/methods-slayer-normad.md`` part B, tuned where noted in ``benchmarks/RESULTS.md``.
``--set train_hidden=false`` trains only the output layer from the same initial weights.

The other rules train the same network built from the shared discrete neuron
(:class:`~spikegrad.rules.normad.nets.SpikeTrainNetwork`: identical but for NormAD's 2 ms refractory
period) from the same initial weights, with Adam and the loss each rule is defined with on spike trains:
``bptt`` the van Rossum loss (5 ms), ``slayer`` its SpikeTime loss (alpha kernel, 5 ms), ``na`` its
synaptic-trace loss (5 ms trace); the per-layer rates are NormAD's alone.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch
from torch import nn

from spikegrad.analysis.spike_metrics import ExponentialKernel, spike_correlation
from spikegrad.analysis.spike_train_plots import plot_output_rasters
from spikegrad.data.problems.spike_mapping import CountTarget, PoissonTarget, SpikeMappingConfig, spike_mapping
from spikegrad.data.problems.xor import XORConfig, xor_problem, xor_solved
from spikegrad.functional.recursive_filter import synaptic_trace
from spikegrad.losses import van_rossum_loss
from spikegrad.rules.normad import HiddenParameters, NormAD, NormADNetwork, NormADParameters
from spikegrad.rules.normad.nets import SpikeTrainNetwork
from spikegrad.rules.normad.network import NetworkRecord
from spikegrad.rules.slayer.loss import spike_time_loss
from spikegrad.rules.slayer.srm import SRMParameters
from spikegrad.train.config import RunConfig
from spikegrad.train.recipe import Recipe, register
from spikegrad.train.recipe_parts import run_rule
from spikegrad.train.rule_settings import RuleSettings
from spikegrad.train.settings import require, setting
from spikegrad.train.spike_train import (
    AutogradPresenter,
    Criterion,
    Presenter,
    SpikeTrainExperiment,
    SpikeTrainParts,
    correlation_reaches,
)

DT_MS = 0.1
WHOLE_PROBLEM = {"batch_size": "the whole problem is presented at once, one update per epoch",
                 "eval_batch_size": "the whole problem is simulated at once",
                 "amp": "spike-train problems are simulated in full precision (spike times are the result)"}


@dataclasses.dataclass(frozen=True)
class NormADSettings(RuleSettings):
    """The rule and the per-layer initial weights ``N(init_mean_pa, init_std_pa^2)`` and rates, input layer first."""

    train_hidden: bool = setting(True, "train the hidden layers (false: the output layer only)")
    tau_prime_ms: float = setting(1.0, "tau_L' of NormAD's d_hat (ms; the group's code: 1)")
    membrane_tau_ms: float | None = setting(None, "kernel of the hidden spike-time terms (ms; none: tau_prime_ms)")
    near_miss_mv: float = setting(0.0, "sub-threshold peaks within this margin (mV) become spike handles (0 = off)")
    init_mean_pa: tuple[float, ...] = setting((300.0,), "mean initial weight per layer (pA)")
    init_std_pa: tuple[float, ...] = setting((300.0,), "initial weight spread per layer (pA)")
    rate_pa: tuple[float, ...] = setting((100.0,), "learning rate per layer (pA per error instant)")
    target_correlation: float = setting(0.95, "solved when the mean output correlation reaches this")

    def check(self) -> None:
        RuleSettings.check(self)
        layers = len(self.init_mean_pa)
        require(len(self.init_std_pa) == layers == len(self.rate_pa), "rate_pa",
                "init_mean_pa, init_std_pa and rate_pa need one entry per weight layer")
        require(all(s >= 0 for s in self.init_std_pa) and all(r >= 0 for r in self.rate_pa), "rate_pa",
                "init_std_pa and rate_pa must be >= 0")
        require(0 < self.target_correlation <= 1, "target_correlation", "must lie in (0, 1]")
        require(self.near_miss_mv >= 0, "near_miss_mv", "must be >= 0 mV (0 = off)")

    def normad_params(self) -> NormADParameters:
        hidden = HiddenParameters(membrane_tau_ms=self.membrane_tau_ms, near_miss_mv=self.near_miss_mv or None)
        return NormADParameters(self.tau_prime_ms, hidden if self.train_hidden else None)


@dataclasses.dataclass(frozen=True)
class MappingSettings(NormADSettings):
    """A Poisson-to-spike-train mapping: ``n_inputs`` Poisson inputs -> hidden layers -> one output."""

    n_inputs: int = setting(100, "Poisson input trains")
    input_rate_hz: float = setting(20.0, "input rate (Hz)")
    duration_ms: float = setting(200.0, "length of the pattern (ms)")
    target_spikes: int = setting(3, "desired output spikes at random times (0: a Poisson train of target_rate_hz)")
    target_rate_hz: float = setting(10.0, "rate of a Poisson desired train (Hz)")
    hidden: tuple[int, ...] = setting((), "hidden layer sizes")

    def check(self) -> None:
        super().check()
        require(len(self.init_mean_pa) == len(self.hidden) + 1, "hidden",
                f"{len(self.hidden)} hidden layers need {len(self.hidden) + 1} entries in init/rate settings")
        require(all(h >= 1 for h in self.hidden) and self.n_inputs >= 1, "hidden", "layer sizes must be >= 1")
        require(self.target_spikes >= 0, "target_spikes", "must be >= 0")

    def problem(self) -> SpikeMappingConfig:
        target = CountTarget(self.target_spikes, 10.0) if self.target_spikes else PoissonTarget(self.target_rate_hz, 10.0)
        return SpikeMappingConfig(n_inputs=self.n_inputs, duration_ms=self.duration_ms, dt_ms=DT_MS,
                                  input_rate_hz=self.input_rate_hz, target=target)


@dataclasses.dataclass(frozen=True)
class XORSettings(NormADSettings):
    """The temporal XOR through one hidden layer (5 delayed copies of each input source)."""

    hidden: int = setting(8, "hidden neurons")
    delays_ms: tuple[float, ...] = setting((0.0, 3.0, 6.0, 9.0, 12.0), "delayed copies of every input source (ms)")
    duration_ms: float = setting(30.0, "length of a pattern (ms)")
    init_mean_pa: tuple[float, ...] = setting((2500.0, 5000.0), "mean initial weight per layer (pA)")
    init_std_pa: tuple[float, ...] = setting((2500.0, 5000.0), "initial weight spread per layer (pA)")
    rate_pa: tuple[float, ...] = setting((300.0, 500.0), "learning rate per layer (pA per error instant)")

    def check(self) -> None:
        super().check()
        require(self.hidden >= 1, "hidden", "must be >= 1")
        require(len(self.init_mean_pa) == 2, "init_mean_pa", "the XOR network has 2 weight layers")

    def problem(self) -> XORConfig:
        return XORConfig(delays_ms=self.delays_ms, duration_ms=self.duration_ms, dt_ms=DT_MS)


class NormADPresenter(Presenter):
    """NormAD: simulate the continuous-time network; the update is written into ``param.grad`` by the rule.

    The loss of a presentation is ``1 - C`` (C: mean output correlation), for logging and the divergence guard.
    """

    def __init__(self, network: NormADNetwork, params: NormADParameters, correlation):
        self.network, self.rule, self.correlation = network, NormAD(network, params), correlation
        self._record: NetworkRecord | None = None
        self._desired: torch.Tensor | None = None

    def present(self, inputs: torch.Tensor, desired: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        self._record, self._desired = self.network(inputs), desired
        output = self._record.output
        return 1.0 - self.correlation(desired, output), output

    def backward(self, loss: torch.Tensor) -> None:
        self.rule.accumulate(self._record, self._desired)


def _init(network: NormADNetwork | SpikeTrainNetwork, settings: NormADSettings, seed: int) -> None:
    """Initial weights ``N(init_mean_pa, init_std_pa^2)`` per layer, drawn from ``seed`` (the same for every rule)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for weight, mean, std in zip(network.weights, settings.init_mean_pa, settings.init_std_pa):
            weight.normal_(mean, std, generator=generator)


LOSS_TAU_MS = 5.0  # the filters of the autograd rules' spike-train losses, as NormAD's correlation kernel


def _presenter(config: RunConfig, sizes: tuple[int, ...]) -> tuple[nn.Module, Presenter]:
    """The network and presentation of the run's rule (module docstring)."""
    settings: NormADSettings = config.settings  # type: ignore[assignment]
    if config.method == "normad":
        network = NormADNetwork(sizes, dt_ms=DT_MS)
        _init(network, settings, config.seed)
        kernel = ExponentialKernel(LOSS_TAU_MS)
        return network, NormADPresenter(network, settings.normad_params(),
                                        lambda d, o: spike_correlation(d, o, DT_MS, kernel).mean())
    rule = run_rule(config)
    network = SpikeTrainNetwork(sizes, rule.layer, dt_ms=DT_MS)
    _init(network, settings, config.seed)
    if config.method == "bptt":
        return network, AutogradPresenter(network, lambda out, d: van_rossum_loss(out, d, DT_MS, LOSS_TAU_MS))
    if config.method == "slayer":
        srm = SRMParameters(tau_sr=LOSS_TAU_MS, ts=DT_MS)
        return network, AutogradPresenter(network, lambda out, d: spike_time_loss(out, d, srm))
    tau = settings.na_trace_tau
    return network, AutogradPresenter(network, lambda out, d: 0.5 * (out - synaptic_trace(d, tau)).square().sum())


def _experiment(config: RunConfig, problem, sizes: tuple[int, ...], solved: Criterion) -> SpikeTrainExperiment:
    torch.set_num_threads(1)  # NormAD works on tiny tensors: extra threads only add synchronisation
    settings: NormADSettings = config.settings  # type: ignore[assignment]
    network, presenter = _presenter(config, sizes)
    scales = settings.rate_pa if config.method == "normad" else (1.0,) * len(settings.rate_pa)
    trained = list(zip(network.weights, scales))
    trained = trained if settings.train_hidden else trained[-1:]

    def plot(path: Path, before: torch.Tensor, after: torch.Tensor) -> None:
        plot_output_rasters(problem.desired, before, after, DT_MS, path)

    parts = SpikeTrainParts(problem, DT_MS, network, presenter, groups=[{"params": [w], "lr_scale": r} for w, r in trained],
                            solved=solved, kernel=ExponentialKernel(LOSS_TAU_MS), plot=plot)
    return SpikeTrainExperiment(config, parts)


def build_mapping(config: RunConfig) -> SpikeTrainExperiment:
    settings: MappingSettings = config.settings  # type: ignore[assignment]
    problem = spike_mapping(settings.problem(), config.seed)
    sizes = (settings.n_inputs, *settings.hidden, 1)
    return _experiment(config, problem, sizes, correlation_reaches(settings.target_correlation))


def build_xor(config: RunConfig) -> SpikeTrainExperiment:
    settings: XORSettings = config.settings  # type: ignore[assignment]
    xor = settings.problem()
    problem = xor_problem(xor)
    sizes = (problem.inputs.shape[-1], settings.hidden, 1)
    return _experiment(config, problem, sizes, lambda desired, output, c: bool(xor_solved(desired, output, xor).all()))


def _defaults(name: str, settings: NormADSettings, epochs: int) -> RunConfig:
    return RunConfig(recipe=name, settings=settings, method="normad", epochs=epochs, lr=1.0, optimizer="sgd",
                     momentum=0.0, batch_size=1)


METHODS = ("normad", "bptt", "slayer", "na")
AUTOGRAD = {"optimizer": "adam", "lr": "50.0", "na_trace_tau": "50.0"}  # Adam's step in pA; NA's trace 5 ms
# bptt: ATan with alpha 0.1 per mV, the width of its default (alpha 2 per unit) scaled to the 20 mV threshold
METHOD_DEFAULTS = {"bptt": {"optimizer": "adam", "lr": "50.0", "surrogate_alpha": "0.1"}, "slayer": {"optimizer": "adam", "lr": "50.0"},
                   "na": AUTOGRAD}


register(Recipe(
    name="normad-single",
    summary="NormAD: one LIF neuron learns 3 desired spikes from 100 Poisson inputs (200 ms, dt 0.1 ms)",
    defaults=_defaults("normad-single", MappingSettings(), 200),
    methods=METHODS, build=build_mapping, needs_data=False, unused=WHOLE_PROBLEM, method_defaults=METHOD_DEFAULTS,
))

register(Recipe(
    name="normad-xor",
    summary="multi-layer NormAD: temporal XOR through 8 hidden LIF neurons (train_hidden=false: output only)",
    defaults=_defaults("normad-xor", XORSettings(), 500),
    methods=METHODS, build=build_xor, needs_data=False, unused=WHOLE_PROBLEM, method_defaults=METHOD_DEFAULTS,
))

register(Recipe(
    name="normad-3layer",
    summary="multi-layer NormAD: 100 Poisson inputs -> 100 -> 100 -> 1 output, 500 ms spike-train mapping",
    defaults=_defaults("normad-3layer", MappingSettings(
        duration_ms=500.0, target_spikes=0, hidden=(100, 100), init_mean_pa=(200.0, 100.0, 300.0),
        init_std_pa=(1000.0, 2000.0, 1000.0), rate_pa=(20.0, 50.0, 300.0), target_correlation=0.9,
        membrane_tau_ms=10.0, near_miss_mv=20.0), 500),
    methods=METHODS, build=build_mapping, needs_data=False, unused=WHOLE_PROBLEM, method_defaults=METHOD_DEFAULTS,
))
