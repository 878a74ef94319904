"""The normad-* recipes through the trainer: summary keys, plots, output-only baseline."""

from __future__ import annotations

import json

import pytest

from spikegrad.train import Trainer, apply_overrides, build_experiment, get_recipe


@pytest.mark.parametrize("name", ["normad-single", "normad-xor"])
def test_recipe_runs_and_reports_correlation(name, tmp_path):
    config = apply_overrides(get_recipe(name).defaults, {"epochs": "3"})
    summary = Trainer(build_experiment(config), tmp_path).fit()
    saved = json.loads((tmp_path / "summary.json").read_text())
    assert saved == summary
    assert 0.0 <= summary["train_correlation"] <= 1.0
    assert isinstance(summary["solved"], bool)
    assert (summary["epochs_to_solve"] is None) == (not summary["solved"])
    assert (tmp_path / "raster.png").stat().st_size > 1000 and (tmp_path / "curves.png").is_file()


def test_xor_recipe_solves_with_hidden_learning(tmp_path):
    config = apply_overrides(get_recipe("normad-xor").defaults, {"epochs": "150"})
    summary = Trainer(build_experiment(config), tmp_path).fit()
    assert summary["solved"] and summary["epochs_to_solve"] <= 150
    # training stops at the first epoch whose update solved the problem
    rows = (tmp_path / "metrics.csv").read_text().strip().splitlines()[1:]
    assert summary["epochs"] == len(rows) == summary["epochs_to_solve"] < 150


def test_output_only_trains_only_the_last_layer(tmp_path):
    config = apply_overrides(get_recipe("normad-xor").defaults, {"epochs": "2", "train_hidden": "false"})
    experiment = build_experiment(config)
    hidden_before = experiment.model.weights[0].detach().clone()
    Trainer(experiment, tmp_path).fit()
    assert (experiment.model.weights[0] == hidden_before).all()


def test_three_layer_recipe_sets_the_near_miss_margin():
    defaults = get_recipe("normad-3layer").defaults
    rule = build_experiment(apply_overrides(defaults, {"epochs": "1"})).parts.presenter.rule.params
    assert rule.hidden.near_miss_mv == 20.0 and rule.hidden.membrane_tau_ms == 10.0
    spikes_only = build_experiment(apply_overrides(defaults, {"epochs": "1", "near_miss_mv": "0"})).parts.presenter.rule.params
    assert spikes_only.hidden.near_miss_mv is None
