"""What can be done with a finished run directory: rebuild it, evaluate it, analyse its activity.

``spikegrad eval``, ``spikegrad analyze`` and ``spikegrad export`` are thin shells over these.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import torch

from spikegrad.analysis.activity import ActivityReport, EnergyModel, measure_activity
from spikegrad.errors import ConfigError
from spikegrad.train.checkpoint import load_weights
from spikegrad.train.classification import ClassificationExperiment
from spikegrad.train.config import RunConfig, read_config
from spikegrad.train.device_generator import device_generator
from spikegrad.train.experiment import Experiment
from spikegrad.train.recipe import build_experiment
from spikegrad.train.trainer import eval_generator


def fit_recipe(recipe: str, overrides: dict[str, Any], run_dir: str | Path, quiet: bool = True) -> tuple[dict[str, Any], list[dict[str, float]]]:
    """Train recipe ``recipe`` with ``overrides`` (as ``--set`` takes them) into ``run_dir``: ``(summary, rows)``.

    ``rows`` are the per-epoch rows of ``metrics.csv``. ``quiet`` silences the per-epoch lines.
    """
    from rich.console import Console

    from spikegrad.train.recipe import get_recipe
    from spikegrad.train.trainer import Trainer

    config = get_recipe(recipe).configure({key: str(value) for key, value in overrides.items()})
    trainer = Trainer(build_experiment(config), Path(run_dir), Console(quiet=quiet))
    return trainer.fit(), trainer.history


def load_run(run_dir: str | Path, data_dir: str | Path | None = None, device: str | None = None) -> tuple[RunConfig, Experiment]:
    """The run's configuration and its experiment with the trained weights loaded.

    ``data_dir`` evaluates on another folder of the same format; ``device`` moves the run (e.g. ``cpu``).
    """
    run_dir = Path(run_dir)
    config = read_config(run_dir / "config.yaml")
    changes: dict[str, Any] = {}
    if data_dir is not None:
        changes["data_dir"] = str(data_dir)
    if device is not None:
        changes["device"] = device
    config = dataclasses.replace(config, **changes)
    experiment = build_experiment(config)
    load_weights(run_dir, experiment.model)
    return config, experiment


def evaluate_run(run_dir: str | Path, split: str = "test", data_dir: str | Path | None = None) -> dict[str, Any]:
    """Evaluate a trained run on ``split``; writes and returns ``eval-<split>.json``."""
    run_dir = Path(run_dir)
    config, experiment = load_run(run_dir, data_dir)
    metrics = experiment.evaluate(split, eval_generator(config))
    result = {"run_dir": str(run_dir), "data_dir": config.data_dir, "split": split, **metrics}
    (run_dir / f"eval-{split}.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


@dataclasses.dataclass(frozen=True)
class Analysis:
    """An activity analysis: the per-layer report, the accuracy on the analysed samples and their count."""

    report: ActivityReport
    accuracy: float
    samples: int
    split: str
    config: RunConfig


@torch.no_grad()
def analyze_run(run_dir: str | Path, split: str = "test", samples: int = 1000, batch_size: int = 64,
                energy: EnergyModel = EnergyModel(), data_dir: str | Path | None = None) -> Analysis:
    """Event-driven inference analysis of a classification run on the first ``samples`` samples (0 = all)."""
    if samples < 0:
        raise ConfigError("samples", f"must be >= 0 (0 = all), got {samples}")
    if batch_size < 1:
        raise ConfigError("batch_size", f"must be >= 1, got {batch_size}")
    config, experiment = load_run(run_dir, data_dir)
    if not isinstance(experiment, ClassificationExperiment):
        raise ConfigError("run_dir", f"recipe {config.recipe!r} is not a classification run; analyze needs one")
    inputs, labels = experiment.split(split)
    count = len(labels) if samples == 0 else min(samples, len(labels))
    generator = eval_generator(config)
    on_device = device_generator(generator, experiment.device)
    outputs: list[torch.Tensor] = []

    def batches():
        for start in range(0, count, batch_size):
            index = torch.arange(start, min(start + batch_size, count))
            yield experiment.encode_batch(inputs[index], generator, on_device)

    model = experiment.model
    handle = model.register_forward_hook(lambda module, args, out: outputs.append(out[0].detach().cpu()))
    try:
        report = measure_activity(model, batches(), energy)
    finally:
        handle.remove()
    predicted = torch.cat([experiment.parts.predict(out) for out in outputs])
    accuracy = float((predicted == labels[:count]).float().mean())
    return Analysis(report, accuracy, count, split, config)
