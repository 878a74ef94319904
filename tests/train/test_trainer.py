"""Trainer: run directory contents, resume equality, NaN guard, checkpoints, config errors."""

from __future__ import annotations

import csv
import json

import pytest
import torch
from safetensors.torch import load_file

from spikegrad.errors import (
    CheckpointError,
    ConfigError,
    DataNotFoundError,
    TrainingDivergedError,
)
from spikegrad.train import (
    ClassificationExperiment,
    Trainer,
    apply_overrides,
    build_experiment,
    get_recipe,
)
from spikegrad.train.checkpoint import load_checkpoint, load_weights
from spikegrad.train.config import parse_set_options, read_config

TINY = {"epochs": "3", "hidden": "[24]", "steps": "6", "batch_size": "64"}


def tiny_config(**extra):
    return apply_overrides(get_recipe("digits").defaults, {**TINY, **extra})


def _rows(run_dir):
    with open(run_dir / "metrics.csv") as handle:
        return [{k: v for k, v in row.items() if k != "epoch_seconds"} for row in csv.DictReader(handle)]


def test_run_directory_contents(tmp_path):
    summary = Trainer(build_experiment(tiny_config()), tmp_path).fit()
    for name in ("config.yaml", "metrics.csv", "checkpoint.pt", "model.safetensors", "curves.png", "raster.png", "summary.json"):
        assert (tmp_path / name).is_file(), name
    saved = json.loads((tmp_path / "summary.json").read_text())
    assert saved == summary
    for key in ("recipe", "method", "epochs", "test_accuracy", "train_seconds", "peak_memory_mb"):
        assert key in saved
    assert saved["epochs"] == 3 and saved["recipe"] == "digits" and saved["method"] == "bptt"
    assert 0.5 < saved["test_accuracy"] <= 1.0  # even a tiny network learns digits in 3 epochs
    assert len(_rows(tmp_path)) == 3
    assert read_config(tmp_path / "config.yaml") == tiny_config()


def test_resume_reaches_the_same_result(tmp_path, monkeypatch):
    Trainer(build_experiment(tiny_config()), tmp_path / "whole").fit()

    real_epoch = ClassificationExperiment.train_epoch
    calls = {"n": 0}

    def interrupted(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # Ctrl-C in the middle of epoch 3
        return real_epoch(self, *args, **kwargs)

    monkeypatch.setattr(ClassificationExperiment, "train_epoch", interrupted)
    with pytest.raises(KeyboardInterrupt):
        Trainer(build_experiment(tiny_config()), tmp_path / "cut").fit()
    assert load_checkpoint(tmp_path / "cut")["epochs_done"] == 2
    monkeypatch.setattr(ClassificationExperiment, "train_epoch", real_epoch)

    config = read_config(tmp_path / "cut" / "config.yaml")
    Trainer(build_experiment(config), tmp_path / "cut").fit(resume=True)
    assert _rows(tmp_path / "cut") == _rows(tmp_path / "whole")
    whole, cut = load_file(tmp_path / "whole" / "model.safetensors"), load_file(tmp_path / "cut" / "model.safetensors")
    assert whole.keys() == cut.keys()
    for key in whole:
        assert torch.equal(whole[key], cut[key]), key


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path):
    experiment = build_experiment(tiny_config())
    real_loss, calls = experiment.parts.loss, {"n": 0}
    batches = experiment.num_batches()

    def poisoned(output, labels):
        loss = real_loss(output, labels)
        if not experiment.model.training:
            return loss
        calls["n"] += 1
        return loss * float("nan") if calls["n"] > batches + 3 else loss  # epoch 2, batch 4

    experiment.parts.loss = poisoned
    with pytest.raises(TrainingDivergedError, match=r"epoch 2, batch 4: the loss became nan.*after epoch 1"):
        Trainer(experiment, tmp_path).fit()
    state = load_checkpoint(tmp_path)
    assert state["epochs_done"] == 1
    weights = load_file(tmp_path / "model.safetensors")
    for key, value in state["model"].items():
        assert torch.isfinite(value).all(), key
        assert torch.equal(value, weights[key]), key  # both files still hold the state after epoch 1
    assert len(_rows(tmp_path)) == 1


def test_corrupt_or_missing_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint found"):
        load_checkpoint(tmp_path)
    (tmp_path / "checkpoint.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="not a spikegrad checkpoint"):
        load_checkpoint(tmp_path)
    with pytest.raises(CheckpointError, match="no trained weights"):
        load_weights(tmp_path, torch.nn.Linear(2, 2))


def test_weights_of_another_model_are_refused(tmp_path):
    Trainer(build_experiment(tiny_config(epochs="1")), tmp_path).fit()
    other = build_experiment(tiny_config(hidden="[30]"))
    with pytest.raises(CheckpointError, match="do not fit"):
        load_weights(tmp_path, other.model)


def test_resume_with_a_different_config_is_refused(tmp_path):
    Trainer(build_experiment(tiny_config(epochs="1")), tmp_path).fit()
    with pytest.raises(CheckpointError, match="configuration differs"):
        Trainer(build_experiment(tiny_config(epochs="2")), tmp_path).fit(resume=True)


def test_config_errors_name_the_option():
    with pytest.raises(ConfigError, match="'nonsense': unknown option for recipe 'digits'"):
        tiny_config(nonsense="1")
    with pytest.raises(ConfigError, match="'epochs': expected int, got 'many'"):
        tiny_config(epochs="many")
    with pytest.raises(ConfigError, match="'epochs': must be >= 1"):
        tiny_config(epochs="0")
    with pytest.raises(ConfigError, match="'optimizer'"):
        tiny_config(optimizer="rmsprop")
    with pytest.raises(ConfigError, match="'method': recipe 'digits' trains with bptt, slayer, lee, na; got 'normad'"):
        build_experiment(tiny_config(method="normad"))
    with pytest.raises(ConfigError, match="unknown recipe 'nope'"):
        get_recipe("nope")
    with pytest.raises(ConfigError, match="expected key=value"):
        parse_set_options(["epochs"])
    with pytest.raises(ConfigError, match="'surrogate'"):
        build_experiment(tiny_config(surrogate="magic"))


def test_missing_data_dir_is_a_clear_error(tmp_path):
    config = apply_overrides(get_recipe("mnist-mlp").defaults, {"data_dir": str(tmp_path / "absent")})
    with pytest.raises(DataNotFoundError, match="absent"):
        build_experiment(config)
