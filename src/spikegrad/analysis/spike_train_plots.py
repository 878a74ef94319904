"""Figures of spike-train problems: convergence curves and rasters of desired vs observed output spikes.

Plots are written to PNG files with matplotlib's non-interactive Agg backend (no display needed). The
functions take plain data (lists of correlations, ``[T, B, n]`` trains), so they also serve other rules.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from spikegrad.errors import ShapeError


def _save(figure: Figure, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(figure)
    figure.savefig(path, format="png", dpi=100)
    return path


def plot_convergence(curves: Mapping[str, Sequence[float]], path: str | Path, ylabel: str = "correlation C") -> Path:
    """One line per named run of a per-epoch metric (epoch 0 = before training); returns the PNG path."""
    figure = Figure(figsize=(6, 4), layout="constrained")
    axes = figure.add_subplot()
    for name, values in curves.items():
        axes.plot(range(len(values)), list(values), label=name)
    axes.set_xlabel("epoch")
    axes.set_ylabel(ylabel)
    if curves:
        axes.legend()
    return _save(figure, path)


def plot_output_rasters(
    desired: torch.Tensor, before: torch.Tensor, after: torch.Tensor, dt_ms: float, path: str | Path
) -> Path:
    """Raster of desired, initial and trained output spikes ``[T, B, n]``: one row per (pattern, neuron).

    Desired spikes are drawn as tall grey bars, observed ones as half-height ticks: before training (blue)
    in the lower half of the row, after training (red) in the upper half.
    """
    if not (desired.dim() == 3 and desired.shape == before.shape == after.shape):
        raise ShapeError("rasters", "three trains of one shape [T, B, n]", f"{[tuple(x.shape) for x in (desired, before, after)]}")
    figure = Figure(figsize=(7, 1.5 + 0.4 * desired.shape[1] * desired.shape[2]), layout="constrained")
    axes = figure.add_subplot()
    rows = desired.flatten(1).T  # [B * n, T]
    styles = ((desired, "0.6", -0.45, 0.45, "desired"), (before, "tab:blue", -0.4, 0.0, "before"), (after, "tab:red", 0.0, 0.4, "after"))
    for train, color, low, high, label in styles:
        for row, spikes in enumerate(train.flatten(1).T):
            times = spikes.nonzero().flatten().double() * dt_ms
            axes.vlines(times.tolist(), row + low, row + high, colors=color, label=label if row == 0 else None)
    axes.set_yticks(range(rows.shape[0]))
    axes.set_xlim(0, desired.shape[0] * dt_ms)
    axes.set_xlabel("time (ms)")
    axes.set_ylabel("pattern x output")
    axes.legend(loc="upper right", fontsize="small")
    return _save(figure, path)
