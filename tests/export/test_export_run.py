"""export_run: a trained run directory to a .nir file that nir.read loads and from_nir turns back into the network."""

from __future__ import annotations

import pytest
import torch

nir = pytest.importorskip("nir", reason="the nir extra is not installed (pip install 'spikegrad[nir]')")

from spikegrad.errors import ConfigError, ExportError
from spikegrad.export import export_run, from_nir
from spikegrad.train import Trainer, apply_overrides, build_experiment, get_recipe
from spikegrad.train.checkpoint import load_weights

TINY = {"epochs": "1", "hidden": "[24]", "steps": "6", "batch_size": "64"}


def _train(run_dir, **settings):
    config = apply_overrides(get_recipe("digits").defaults, {**TINY, **settings})
    Trainer(build_experiment(config), run_dir).fit()
    return run_dir


def test_zero_reset_run_exports_exactly(tmp_path):
    run_dir = _train(tmp_path / "run", reset="zero")
    path = export_run(run_dir, out=tmp_path / "digits.nir")
    assert path == tmp_path / "digits.nir"
    graph = nir.read(path)
    assert graph.metadata["dt"] == pytest.approx(1e-3) and "spike_agreement" not in graph.metadata
    experiment = build_experiment(apply_overrides(get_recipe("digits").defaults, {**TINY, "reset": "zero"}))
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
