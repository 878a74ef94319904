"""Bar chart of an :class:`~spikegrad.analysis.activity.ActivityReport` (matplotlib, Agg backend)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from spikegrad.analysis.activity import ActivityReport  # noqa: E402


def plot_activity(report: ActivityReport, path: Path, title: str = "") -> Path:
    """Left: SNN accumulates vs ANN MACs per sample for each weight layer (log scale). Right: spikes per
    neuron per sample for each spiking layer. The suptitle gives the totals and the energy estimate."""
    fig, (ax_ops, ax_rate) = plt.subplots(1, 2, figsize=(13, 4.8), gridspec_kw={"width_ratios": [3, 2]})
    names = [layer.name for layer in report.synapses]
    index = np.arange(len(names))
    snn = [max(layer.synops_per_sample, 1e-9) for layer in report.synapses]
    ann = [max(layer.ann_macs_per_sample, 1e-9) for layer in report.synapses]
    ax_ops.bar(index - 0.2, snn, 0.4, label=f"SNN accumulates (x {report.energy.e_ac_pj:g} pJ)")
    ax_ops.bar(index + 0.2, ann, 0.4, label=f"ANN MACs (x {report.energy.e_mac_pj:g} pJ)")
    ax_ops.set_yscale("log")
    ax_ops.set_xticks(index, [f"{layer.name}\n{layer.kind}" for layer in report.synapses], fontsize=7, rotation=30,
                      ha="right")
    ax_ops.set(ylabel="operations per sample", title="operations per weight layer")
    ax_ops.legend(fontsize=8)
    ax_ops.grid(axis="y", alpha=0.3)

    rates = [layer.spikes_per_neuron for layer in report.neurons]
    ax_rate.bar(np.arange(len(rates)), rates, color="tab:green")
    ax_rate.set_xticks(np.arange(len(rates)), [f"{layer.name}\n{layer.kind}" for layer in report.neurons],
                       fontsize=7, rotation=30, ha="right")
    ax_rate.set(ylabel=f"spikes per neuron per sample (T = {report.steps})", title="activity per spiking layer")
    ax_rate.grid(axis="y", alpha=0.3)

    totals = report.totals()
    summary = (f"{report.samples} samples, T = {report.steps}: SNN {totals['synops_per_sample']:.3g} ACs "
               f"({totals['snn_energy_uj']:.3g} uJ) vs ANN {totals['ann_macs_per_sample']:.3g} MACs "
               f"({totals['ann_energy_uj']:.3g} uJ); energy ANN/SNN = {totals['energy_ratio_ann_over_snn']:.3g}")
    fig.suptitle(f"{title}\n{summary}" if title else summary, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)
