"""Sparse event-driven inference analysis: counts worked out by hand on tiny networks (oracle A12.8),
conv fan-out at borders and strides, energy, report files, and `spikegrad analyze` on a trained run."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

from spikegrad.analysis.activity import (
    ActivityMonitor,
    EnergyModel,
    conv_coverage,
    measure_activity,
)
from spikegrad.analysis.activity_plot import plot_activity
from spikegrad.cli import app
from spikegrad.errors import ConfigError
from spikegrad.nn import Conv2d, Dense, Flatten
from spikegrad.rules.lee.layers import IntegratingReadout, LeeLIF, LeeNetwork
from spikegrad.train import Trainer, apply_overrides, build_experiment, get_recipe


def test_oracle_dense_operation_count():
    """Oracle A12.8: FC 1024 -> 10 with 500 presynaptic spikes in the window: 5 000 ACs, 10 240 MACs."""
    layer = Dense(1024, 10, bias=False)
    spikes = torch.zeros(100, 1, 1024)
    where = torch.randperm(100 * 1024, generator=torch.Generator().manual_seed(0))[:500]
    spikes.view(-1)[where] = torch.tensor([1.0, -1.0]).repeat(250)  # signed input spikes count once each
    with ActivityMonitor(layer) as monitor:
        layer(spikes)
    report = monitor.report()
    (row,) = report.synapses
    assert row.synops_per_sample == 5000 and row.ann_macs_per_sample == 10240
    assert row.input_spikes_per_neuron == pytest.approx(500 / 1024)
    assert report.snn_energy_pj() == pytest.approx(5000 * 0.9) and report.ann_energy_pj() == pytest.approx(10240 * 4.6)


def _brute_force_coverage(kernel, stride, padding, size):
    out_size = (size + 2 * padding - kernel) // stride + 1
    cover = torch.zeros(size, size, dtype=torch.float64)
    for oi in range(out_size):
        for oj in range(out_size):
            for ki in range(kernel):
                for kj in range(kernel):
                    i, j = oi * stride - padding + ki, oj * stride - padding + kj
                    if 0 <= i < size and 0 <= j < size:
                        cover[i, j] += 1
    return cover


@pytest.mark.parametrize("kernel, stride, padding, size", [(3, 1, 1, 4), (3, 2, 1, 4), (5, 1, 2, 7), (1, 2, 0, 6),
                                                           (3, 2, 1, 8)])
def test_conv_fanout_at_borders_and_strides(kernel, stride, padding, size):
    conv = torch.nn.Conv2d(1, 1, kernel, stride=stride, padding=padding, bias=False)
    assert torch.equal(conv_coverage(conv, size, size), _brute_force_coverage(kernel, stride, padding, size))


def test_conv_fanout_hand_values():
    cover = conv_coverage(torch.nn.Conv2d(1, 1, 3, padding=1), 4, 4)
    assert cover[0, 0] == 4 and cover[0, 1] == 6 and cover[1, 1] == 9  # corner, edge, inside
    cover = conv_coverage(torch.nn.Conv2d(1, 1, 3, stride=2, padding=1), 4, 4)
    assert cover[0, 0] == 1 and cover[1, 1] == 4 and cover[3, 3] == 1


def _hand_network():
    """conv 3x3 (1 -> 2, pad 1, all weights 2) -> LIF -> flatten -> FC 32 -> 3 -> readout."""
    conv = Conv2d(1, 2, 3, padding=1, bias=False)
    dense = Dense(32, 3, bias=False)
    with torch.no_grad():
        conv.weight.fill_(2.0)
        dense.weight.fill_(0.1)
    return LeeNetwork(conv, LeeLIF(), Flatten(), dense, IntegratingReadout(), inference_chunk=0)


def test_hand_counted_network():
    """Input spikes: corner (0,0) at t=0, pixel (1,1) at t=1 and t=2 (3 events, T = 4).

    conv: ACs = (4 + 9 + 9) x 2 channels = 44; ANN MACs = 2 x 16 outputs x 9 = 288.
    LIF: every target of an input spike gets current 2 > 1 and fires once: 44 spikes over 32 neurons.
    FC: 44 spikes x 3 targets = 132 ACs; ANN MACs = 32 x 3 = 96. Two samples: the second is silent.
    """
    x = torch.zeros(4, 2, 1, 4, 4)
    x[0, 0, 0, 0, 0] = 1.0
    x[1, 0, 0, 1, 1] = 1.0
    x[2, 0, 0, 1, 1] = 1.0
    energy = EnergyModel(e_mac_pj=4.0, e_ac_pj=1.0)
    report = measure_activity(_hand_network(), [x], energy)
    assert report.samples == 2 and report.steps == 4
    conv, dense = report.synapses
    assert (conv.name, conv.kind, dense.kind) == ("0", "conv 3x3 1->2", "fc 32->3")
    assert conv.synops == 44 and conv.synops_per_sample == 22 and conv.ann_macs_per_sample == 288
    assert conv.input_events == 3 and conv.input_spikes_per_neuron == pytest.approx(3 / (16 * 2))
    assert dense.synops == 132 and dense.ann_macs_per_sample == 96
    (lif,) = report.neurons
    assert lif.neurons == 32 and lif.spikes == 44 and lif.spikes_per_neuron == pytest.approx(44 / 64)
    totals = report.totals()
    assert totals["synops_per_sample"] == pytest.approx((44 + 132) / 2)
    assert totals["ann_macs_per_sample"] == 288 + 96
    assert totals["snn_energy_uj"] == pytest.approx(88 * 1.0e-6) and totals["ann_energy_uj"] == pytest.approx(384 * 4e-6)
    assert [row["layer"] for row in report.rows()] == ["0", "1", "3"]  # the order in which they ran


def test_chunked_inference_counts_the_same(tmp_path):
    torch.manual_seed(0)
    x = (torch.rand(12, 3, 1, 4, 4) < 0.3).float()
    net = _hand_network()
    whole = measure_activity(net, [x]).to_dict()
    net.inference_chunk = 5
    chunked = measure_activity(net, [x[:, :1], x[:, 1:]])  # two batches, chunks of 5 steps
    assert chunked.to_dict() == whole
    paths = chunked.write(tmp_path)
    assert json.loads(paths["json"].read_text())["totals"]["samples"] == 3
    assert paths["csv"].read_text().splitlines()[0].startswith("role,layer,kind")
    assert plot_activity(chunked, tmp_path / "a.png").stat().st_size > 1000


def test_energy_parameters_must_be_positive():
    with pytest.raises(ConfigError, match="e_ac_pj"):
        EnergyModel(e_ac_pj=0.0)


def test_analyze_command_on_a_trained_run(shared_data, tmp_path):
    config = apply_overrides(get_recipe("lee-mnist").defaults, {
        "data_dir": str(shared_data / "mnist"), "epochs": "1", "steps": "4", "train_limit": "64", "test_limit": "48",
        "batch_size": "32"})
    run_dir = tmp_path / "run"
    Trainer(build_experiment(config), run_dir).fit()
    result = CliRunner().invoke(app, ["analyze", str(run_dir), "--samples", "40", "--batch-size", "16",
                                      "--e-mac", "3.1", "--e-ac", "0.1"])
    assert result.exit_code == 0, result.output
    data = json.loads((run_dir / "activity.json").read_text())
    assert data["totals"]["samples"] == 40 and data["totals"]["steps"] == 4 and data["totals"]["e_mac_pj"] == 3.1
    kinds = [row["kind"] for row in data["layers"] if row["role"] == "synapse"]
    assert kinds == ["conv 5x5 1->20", "conv 5x5 20->50", "fc 2450->200", "fc 200->10"]
    assert data["totals"]["ann_macs_per_sample"] == 20 * 784 * 25 + 50 * 196 * 500 + 2450 * 200 + 2000
    assert (run_dir / "activity.png").stat().st_size > 1000 and (run_dir / "activity.csv").is_file()
    summary = json.loads((run_dir / "activity-summary.json").read_text())
    assert 0.0 <= summary["accuracy"] <= 1.0 and summary["samples"] == 40
    result = CliRunner().invoke(app, ["analyze", str(tmp_path / "missing")])
    assert result.exit_code == 1 and "config.yaml" in result.output
