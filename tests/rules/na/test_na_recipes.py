"""NA recipes: settings from the NA code, small real-data runs, the single-neuron comparison."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from spikegrad.errors import ConfigError
from spikegrad.grad import Sigmoid
from spikegrad.rules.bptt import BPTT
from spikegrad.rules.na import Faithful, LossChange, Paper
from spikegrad.rules.na.plugin import NA
from spikegrad.train import Trainer, apply_overrides, build_experiment, get_recipe


def _config(name, **overrides):
    return apply_overrides(get_recipe(name).defaults, {k: str(v) for k, v in overrides.items()})


def test_recipe_settings_follow_the_na_code():
    for name in ("na-mnist", "na-fmnist", "na-cifar10", "na-nmnist"):
        config = get_recipe(name).defaults
        assert get_recipe(name).methods == ("na", "bptt", "slayer", "lee")
        assert (config.optimizer, config.lr, config.weight_decay) == ("adamw", 5e-4, 0.01)
        assert (config.schedule, config.lr_gamma, config.grad_clip) == ("exponential", 0.985, 1.0)
        assert config.settings.weight_clamp == 4.0 and config.settings.na_mode == "faithful"
    mnist = get_recipe("na-mnist").defaults
    assert (mnist.epochs, mnist.batch_size) == (200, 64)
    s = mnist.settings
    assert (s.steps, s.tau_m, s.tau_s, s.threshold) == (5, 5.0, 2.0, 1.0)
    assert (get_recipe("na-cifar10").defaults.batch_size, get_recipe("na-cifar10").defaults.epochs) == (50, 300)
    nmnist = get_recipe("na-nmnist").defaults.settings
    assert (nmnist.steps, nmnist.tau_m, nmnist.tau_s) == (30, 8.0, 4.0)


def rule_of(config):
    return config.settings.rule(config.method)


def test_rule_options_parse_into_typed_objects():
    assert rule_of(_config("na-mnist")) == NA(Faithful())
    assert rule_of(_config("na-mnist", na_rescale="true")) == NA(Faithful(rescale=True))
    assert rule_of(_config("na-mnist", na_mode="paper", na_loss_change="first-order", na_exact_output="true")) == \
        NA(Paper(LossChange.FIRST_ORDER, exact_output=True))
    assert rule_of(_config("na-mnist", method="bptt")) == BPTT(Sigmoid(5.0))
    with pytest.raises(ConfigError, match="na_mode"):
        rule_of(_config("na-mnist", na_mode="fast"))
    with pytest.raises(ConfigError, match="na_loss_change"):
        rule_of(_config("na-mnist", na_mode="paper", na_loss_change="second"))
    with pytest.raises(ConfigError, match="'na_rescale': is an option of method 'na'"):
        build_experiment(_config("na-mnist", method="bptt", na_rescale="true"))


@pytest.mark.parametrize("method", ["na", "bptt"])
def test_na_mnist_learns_from_a_small_subset(shared_data, tmp_path, method):
    config = _config("na-mnist", method=method, data_dir=shared_data / "mnist", epochs=1, train_limit=960,
                     test_limit=200, rotation=0.0, max_shift=0)
    summary = Trainer(build_experiment(config), tmp_path).fit()
    assert summary["test_accuracy"] > 0.3  # 10 % is chance; 15 steps of 64 images
    assert summary["rule"] == repr(NA(Faithful()) if method == "na" else BPTT(Sigmoid(5.0)))


def test_weight_clamp_is_applied_after_every_step(shared_data, tmp_path):
    config = _config("na-mnist", data_dir=shared_data / "mnist", epochs=1, train_limit=64, test_limit=32,
                     weight_clamp=0.05)
    experiment = build_experiment(config)
    Trainer(experiment, tmp_path).fit()
    assert max(p.abs().max().item() for p in experiment.model.parameters()) == pytest.approx(0.05)


def test_na_nmnist_runs_on_the_event_files(shared_data, tmp_path):
    config = _config("na-nmnist", data_dir=shared_data / "nmnist", epochs=1, train_limit=40, test_limit=20, steps=10)
    experiment = build_experiment(config)
    before = {k: v.clone() for k, v in experiment.model.state_dict().items()}
    summary = Trainer(experiment, tmp_path).fit()
    inputs, labels = experiment.split("test")
    assert len(inputs) == 20 and inputs.shape == (10, 2, 34, 34) and len(labels) == 20
    assert inputs.counts().min() > 0 and 0.0 <= summary["test_accuracy"] <= 1.0
    assert np.isfinite(summary["final_train_loss"])
    assert any(not torch.equal(v, before[k]) for k, v in experiment.model.state_dict().items())  # it trained


def test_na_cifar10_builds_and_steps_on_the_png_subset(shared_data, tmp_path):
    config = _config("na-cifar10", data_dir=shared_data / "cifar10", epochs=1, train_limit=4, test_limit=4,
                     batch_size=2, steps=2)
    experiment = build_experiment(config)
    before = [p.detach().clone() for p in experiment.model.parameters()]
    summary = Trainer(experiment, tmp_path).fit()
    assert summary["epochs"] == 1
    assert any(not torch.equal(a, b) for a, b in zip(before, experiment.model.parameters()))


def test_na_fit_trains_na_and_the_surrogate_from_the_same_trials(tmp_path):
    experiments = {method: build_experiment(_config("na-fit", method=method, epochs=2, trials=40, iterations=15))
                   for method in ("na", "bptt")}
    na, bptt = experiments["na"], experiments["bptt"]
    assert torch.equal(na.model.weight, bptt.model.weight) and torch.equal(na.desired, bptt.desired)  # same start
    assert na.model.neuron.gradient == Faithful() and bptt.model.neuron.neuron.estimator == Sigmoid(5.0)
    with pytest.raises(ConfigError, match="split 'train'"):
        na.evaluate("test", torch.Generator())
    summaries = {method: Trainer(e, tmp_path / method).fit() for method, e in experiments.items()}
    for summary in summaries.values():
        assert {"train_fit_fraction", "best_train_fit_fraction", "initial_loss", "final_loss"} <= set(summary)
    assert summaries["na"]["final_loss"] < 0.7 * summaries["na"]["initial_loss"]  # NA fits the desired trains


@pytest.mark.slow
def test_na_mnist_recipe_reaches_97_percent(shared_data, tmp_path):
    """README: 0.9786 final (best 0.9832) on the 10k test set after 30 epochs on the 5k subset."""
    config = _config("na-mnist", data_dir=shared_data / "mnist", epochs=30)
    assert Trainer(build_experiment(config), tmp_path).fit()["test_accuracy"] >= 0.97


@pytest.mark.slow
def test_na_fmnist_recipe_reaches_90_percent(shared_data, tmp_path):
    """README: 0.9021 final after 5 epochs on the full 60k/10k, without the NA code's augmentations."""
    config = _config("na-fmnist", data_dir=shared_data / "fashion-mnist", epochs=5, max_shift=0, rotation=0.0,
                     hflip="false")
    assert Trainer(build_experiment(config), tmp_path).fit()["test_accuracy"] >= 0.90


def test_direct_and_rate_encodings(shared_data):
    generator = torch.Generator().manual_seed(0)
    for encoding in ("direct", "rate"):
        experiment = build_experiment(_config("na-mnist", data_dir=shared_data / "mnist", encoding=encoding,
                                              test_limit=8, train_limit=8))
        images, _ = experiment.split("test")
        spikes = experiment.parts.encode(images, generator)
        assert spikes.shape == (5, 8, 1, 28, 28)
        if encoding == "rate":
            assert set(spikes.unique().tolist()) <= {0.0, 1.0}
        else:
            torch.testing.assert_close(spikes[0], spikes[4])  # the same normalised frame every step
            assert spikes.min() < 0  # MNIST normalisation: background (0 - 0.1307) / 0.3081
    with pytest.raises(ConfigError, match="encoding"):
        build_experiment(_config("na-mnist", data_dir=shared_data / "mnist", encoding="latency", test_limit=8))
