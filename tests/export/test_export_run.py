"""export_run: a trained run directory to a .nir file that nir.read loads and from_nir turns back into the network."""

from __future__ import annotations

import dataclasses

import pytest
import torch

nir = pytest.importorskip("nir", reason="the nir extra is not installed (pip install 'spikegrad[nir]')")

from spikegrad.errors import ConfigError, ExportError
from spikegrad.export import export_run, from_nir
from spikegrad.functional.neuron import Reset
from spikegrad.nn import LIF
from spikegrad.train import (
    Trainer,
    apply_overrides,
    build_experiment,
    get_recipe,
    list_recipes,
)
from spikegrad.train import recipe as recipe_registry
from spikegrad.train.checkpoint import load_weights
from spikegrad.train.recipes.static_images import build_rate_mlp

TINY = {"epochs": "1", "hidden": "[24]", "steps": "6", "batch_size": "64"}
ZERO_RECIPE = "digits-reset-zero-test"


def _train(run_dir, recipe="digits"):
    config = apply_overrides(dataclasses.replace(get_recipe("digits").defaults, recipe=recipe), TINY)
    Trainer(build_experiment(config), run_dir).fit()
    return run_dir


def _zero_reset_digits(config):
    """``digits`` with reset to zero: stands in for ``digits --set reset=zero`` until the recipes offer the setting."""
    experiment = build_rate_mlp(config, "digits")
    for module in experiment.model.modules():
        if isinstance(module, LIF):
            module.params = dataclasses.replace(module.params, reset=Reset.ZERO)
    return experiment


@pytest.fixture
def zero_recipe(monkeypatch):
    list_recipes()  # load the registry before adding to it
    digits = get_recipe("digits")
    recipe = dataclasses.replace(digits, name=ZERO_RECIPE, defaults=dataclasses.replace(digits.defaults, recipe=ZERO_RECIPE),
                                 build=_zero_reset_digits)  # fmt: skip
    monkeypatch.setitem(recipe_registry._RECIPES, ZERO_RECIPE, recipe)
    return ZERO_RECIPE


def test_zero_reset_run_exports_exactly(tmp_path, zero_recipe):
    run_dir = _train(tmp_path / "run", zero_recipe)
    path = export_run(run_dir, out=tmp_path / "digits.nir")
    assert path == tmp_path / "digits.nir"
    graph = nir.read(path)
    assert graph.metadata["dt"] == pytest.approx(1e-3) and "spike_agreement" not in graph.metadata
    experiment = build_experiment(apply_overrides(dataclasses.replace(get_recipe("digits").defaults, recipe=zero_recipe), TINY))
    load_weights(run_dir, experiment.model)
    inputs, _ = experiment.split("test")
    spikes = experiment.parts.encode(inputs, torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected, _ = experiment.model.eval()(spikes)
        got, _ = from_nir(path)(spikes)
    assert expected.sum() > 100 and torch.equal(got, expected)


def test_subtract_run_is_refused_then_exported_approximately(tmp_path):
    run_dir = _train(tmp_path / "run")
    with pytest.raises(ExportError, match=r"layer 1 \(LIF\).*subtraction.*approximate"):
        export_run(run_dir)
    assert not (run_dir / "model.nir").exists()
    lines = []
    path = export_run(run_dir, approximate=True, report=lines.append)
    assert path == run_dir / "model.nir" and not list(run_dir.glob(".*.tmp"))
    graph = nir.read(path)
    assert graph.metadata["approximated_layers"] == "1,3"
    assert 0.5 < float(graph.metadata["spike_agreement"]) <= 1.0
    assert len(lines) == 1 and "layers 1,3" in lines[0] and "on 360 test samples" in lines[0]
    print(f"\n{lines[0]}")
    assert len(from_nir(path)) == 4


def test_missing_run_directory(tmp_path):
    with pytest.raises(ConfigError, match="config.yaml"):
        export_run(tmp_path / "nothing")
