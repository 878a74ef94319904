"""PNG plots of training runs: loss/accuracy curves and spike rasters (matplotlib, Agg backend)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402


def plot_curves(history: Sequence[dict[str, float]], path: Path) -> None:
    """Loss (left) and accuracy, or spike-train correlation (right), per epoch from the rows of ``metrics.csv``."""
    epochs = [row["epoch"] for row in history]
    score = "accuracy" if any(key.endswith("_accuracy") for key in history[0]) else "correlation"
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    marker = "o" if len(history) <= 50 else None
    for split in ("train", "test"):
        if f"{split}_loss" in history[0]:
            ax_loss.plot(epochs, [row[f"{split}_loss"] for row in history], marker=marker, label=split)
        if f"{split}_{score}" in history[0]:
            ax_acc.plot(epochs, [row[f"{split}_{score}"] for row in history], marker=marker, label=split)
    ax_loss.set(xlabel="epoch", ylabel="loss", title="loss")
    ax_acc.set(xlabel="epoch", ylabel=score, title=score)
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_raster(layers: Sequence[tuple[str, torch.Tensor]], path: Path, title: str = "") -> None:
    """One raster per layer for one sample; each tensor is ``[T, 1, ...]`` (batch of one)."""
    fig, axes = plt.subplots(len(layers), 1, figsize=(8, 1.6 * len(layers) + 0.8), sharex=True, squeeze=False)
    for ax, (name, spikes) in zip(axes[:, 0], layers):
        flat = spikes[:, 0].reshape(spikes.shape[0], -1).cpu()
        steps, neurons = torch.nonzero(flat != 0, as_tuple=True)
        ax.scatter(steps.numpy(), neurons.numpy(), s=2, c="black", marker="|")
        ax.set_ylabel(f"{name}\n({flat.shape[1]})")
        ax.set_ylim(-0.5, flat.shape[1] - 0.5)
    axes[-1, 0].set_xlabel("time step")
    axes[-1, 0].set_xlim(-0.5, layers[0][1].shape[0] - 0.5)
    if title:
        axes[0, 0].set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_comparison(histories: dict[str, Sequence[Sequence[dict[str, float]]]], metric: str, path: Path,
                    title: str = "") -> None:
    """Learning curves of several rules: ``metric`` per epoch, the mean over seeds with its min-max band.

    ``histories[rule]`` holds one run's rows of ``metrics.csv`` per seed; runs that stopped early (solved)
    count as keeping their last value.
    """
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for rule, runs in histories.items():
        length = max(len(run) for run in runs)
        curves = torch.tensor([[run[min(i, len(run) - 1)][metric] for i in range(length)] for run in runs])
        epochs = range(1, length + 1)
        mean = curves.mean(0)
        ax.plot(epochs, mean, label=f"{rule} ({len(runs)} seed{'s' if len(runs) > 1 else ''})")
        ax.fill_between(epochs, curves.min(0).values, curves.max(0).values, alpha=0.2)
    ax.set(xlabel="epoch", ylabel=metric.replace("_", " "), title=title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
