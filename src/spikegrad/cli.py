"""The ``spikegrad`` command: train, eval, analyze, recipes."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from spikegrad.errors import SpikegradError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Train spiking neural networks with SLAYER, NormAD, spike-based BP, NA and surrogate BPTT.")
console = Console(stderr=True)


RELEASE_MEMORY_HELP = "return freed memory to the OS after every step (default: keep it for reuse; faster on the CPU)"


def _memory_policy(release_memory: bool) -> None:
    if not release_memory:
        from spikegrad.runtime import keep_freed_memory

        keep_freed_memory()


def _fail(err: SpikegradError) -> None:
    console.print(f"[bold red]error:[/] {escape(str(err))}", soft_wrap=True, highlight=False)
    raise typer.Exit(code=1)


@app.command()
def train(
    recipe: str = typer.Argument("digits", help="recipe name (see `spikegrad recipes`)"),
    method: Optional[str] = typer.Option(None, help="learning rule (default: the recipe's first)"),
    data_dir: Optional[Path] = typer.Option(None, help="the dataset's folder (default: $SPIKEGRAD_DATA/<dataset>)"),
    epochs: Optional[int] = typer.Option(None, help="number of epochs"),
    batch_size: Optional[int] = typer.Option(None, help="mini-batch size"),
    seed: Optional[int] = typer.Option(None, help="random seed"),
    device: Optional[str] = typer.Option(None, help="cpu or cuda"),
    out: Optional[Path] = typer.Option(None, help="run directory (default: runs/<recipe>-<method>-<time>)"),
    set_: list[str] = typer.Option([], "--set", help="override a setting: key=value (repeatable)"),
    resume: Optional[Path] = typer.Option(None, help="continue the interrupted run in this directory"),
    release_memory: bool = typer.Option(False, "--release-memory", help=RELEASE_MEMORY_HELP),
) -> None:
    """Train a recipe and write a run directory (config, metrics.csv, checkpoint, plots, summary.json)."""
    _memory_policy(release_memory)
    from spikegrad.train import (
        Trainer,
        apply_overrides,
        build_experiment,
        get_recipe,
        load_config,
    )
    from spikegrad.train.config import parse_set_options

    try:
        if resume is not None:
            config = load_config(resume / "config.yaml")
            run_dir = resume
        else:
            recipe_obj = get_recipe(recipe)
            given = {"method": method, "epochs": epochs, "batch_size": batch_size, "seed": seed, "device": device,
                     "data_dir": str(data_dir) if data_dir is not None else None}
            overrides = {k: v for k, v in given.items() if v is not None}
            overrides.update(parse_set_options(set_))
            config = apply_overrides(recipe_obj.defaults, overrides)
            run_dir = out or Path("runs") / f"{config.recipe}-{config.method}-{time.strftime('%Y%m%d-%H%M%S')}"
        console.print(f"[bold]{config.recipe}[/] with {config.method}: {config.epochs} epochs on {config.device} -> {run_dir}")
        trainer = Trainer(build_experiment(config), run_dir, console)
        summary = trainer.fit(resume=resume is not None)
        trainer.print_summary(summary)
    except SpikegradError as err:
        _fail(err)
    except KeyboardInterrupt:
        console.print(f"[yellow]interrupted[/]: continue with `spikegrad train --resume {run_dir}`")
        raise typer.Exit(code=130)


@app.command("eval")
def evaluate(
    run_dir: Path = typer.Argument(..., help="a run directory written by `spikegrad train`"),
    data_dir: Optional[Path] = typer.Option(None, help="evaluate on this dataset folder instead of the run's"),
    split: str = typer.Option("test", help="test, train or all"),
    release_memory: bool = typer.Option(False, "--release-memory", help=RELEASE_MEMORY_HELP),
) -> None:
    """Evaluate a trained run on a data directory of the same format; prints and writes eval-<split>.json."""
    _memory_policy(release_memory)
    from spikegrad.train import build_experiment, load_config
    from spikegrad.train.checkpoint import load_weights
    from spikegrad.train.trainer import Trainer

    try:
        config = load_config(run_dir / "config.yaml")
        if data_dir is not None:
            config = dataclasses.replace(config, data_dir=str(data_dir))
        experiment = build_experiment(config)
        load_weights(run_dir, experiment.model)
        metrics = experiment.evaluate(split, Trainer(experiment, run_dir, console)._eval_generator())
    except SpikegradError as err:
        _fail(err)
    result = {"run_dir": str(run_dir), "data_dir": config.data_dir, "split": split, **metrics}
    (run_dir / f"eval-{split}.json").write_text(json.dumps(result, indent=2) + "\n")
    typer.echo(json.dumps(result, indent=2))


@app.command()
def analyze(
    run_dir: Path = typer.Argument(..., help="a run directory written by `spikegrad train`"),
    data_dir: Optional[Path] = typer.Option(None, help="analyse on this dataset folder instead of the run's"),
    split: str = typer.Option("test", help="test, train or all"),
    samples: int = typer.Option(1000, help="number of samples from the start of the split (0 = all)"),
    batch_size: int = typer.Option(64, help="samples per forward pass"),
    e_mac: float = typer.Option(4.6, help="energy of one 32-bit float MAC in pJ (45 nm, Horowitz 2014)"),
    e_ac: float = typer.Option(0.9, help="energy of one 32-bit float accumulate in pJ (45 nm, Horowitz 2014)"),
) -> None:
    """Event-driven inference analysis per layer: spikes/neuron, SynOps vs ANN MACs, energy (activity.json/.csv/.png)."""
    import torch

    from spikegrad.analysis.activity import EnergyModel, measure_activity
    from spikegrad.analysis.activity_plot import plot_activity
    from spikegrad.errors import ConfigError
    from spikegrad.train import build_experiment, load_config
    from spikegrad.train.checkpoint import load_weights
    from spikegrad.train.classification import ClassificationExperiment
    from spikegrad.train.trainer import Trainer

    try:
        if samples < 0 or batch_size < 1:
            raise ConfigError("samples" if samples < 0 else "batch_size", "must be >= 0 (samples) and >= 1 (batch size)")
        energy = EnergyModel(e_mac_pj=e_mac, e_ac_pj=e_ac)
        config = load_config(run_dir / "config.yaml")
        if data_dir is not None:
            config = dataclasses.replace(config, data_dir=str(data_dir))
        experiment = build_experiment(config)
        if not isinstance(experiment, ClassificationExperiment):
            raise ConfigError("run_dir", f"recipe {config.recipe!r} is not a classification run; analyze needs one")
        load_weights(run_dir, experiment.model)
        inputs, labels = experiment.split(split)
        count = len(labels) if samples == 0 else min(samples, len(labels))
        generator = Trainer(experiment, run_dir, console)._eval_generator()
        outputs: list = []

        def batches():
            for start in range(0, count, batch_size):
                spikes = experiment.parts.encode(inputs[start:min(start + batch_size, count)], generator)
                yield spikes.to(experiment.device)

        model = experiment.model
        handle = model.register_forward_hook(lambda module, args, out: outputs.append(out[0].detach().cpu()))
        try:
            report = measure_activity(model, batches(), energy)
        finally:
            handle.remove()
        predicted = torch.cat([experiment.parts.predict(out) for out in outputs])
        accuracy = float((predicted == labels[:count]).float().mean())
        written = report.write(run_dir)
        plot = plot_activity(report, run_dir / "activity.png", title=f"{config.recipe} ({config.method}), {split} split")
    except SpikegradError as err:
        _fail(err)
    table = Table(title=f"{config.recipe}: event-driven inference, {count} {split} samples, T = {report.steps}")
    for column in ("layer", "kind", "spikes/neuron/sample", "SynOps/sample", "ANN MACs/sample", "SNN uJ", "ANN uJ"):
        table.add_column(column, justify="left" if column in ("layer", "kind") else "right")
    for row in report.rows():
        synapse = row["role"] == "synapse"
        table.add_row(row["layer"], row["kind"], f"{row['spikes_per_neuron_per_sample']:.3f}",
                      f"{row['synops_per_sample']:.4g}" if synapse else "", f"{row['ann_macs_per_sample']:.4g}" if synapse else "",
                      f"{row['snn_energy_uj']:.4g}" if synapse else "", f"{row['ann_energy_uj']:.4g}" if synapse else "")
    totals = report.totals()
    table.add_row("total", "", "", f"{totals['synops_per_sample']:.4g}", f"{totals['ann_macs_per_sample']:.4g}",
                  f"{totals['snn_energy_uj']:.4g}", f"{totals['ann_energy_uj']:.4g}")
    Console(width=None if Console().is_terminal else 150).print(table)
    console.print(f"accuracy on these samples {accuracy:.4f}; energy ANN/SNN {totals['energy_ratio_ann_over_snn']:.3g} "
                  f"(E_MAC {e_mac:g} pJ, E_AC {e_ac:g} pJ); wrote {written['json']}, {written['csv']}, {plot}")
    summary = {"run_dir": str(run_dir), "split": split, "samples": count, "accuracy": accuracy, **totals}
    (run_dir / "activity-summary.json").write_text(json.dumps(summary, indent=2) + "\n")


@app.command()
def recipes() -> None:
    """List the recipes, one line each."""
    from spikegrad.train import list_recipes

    table = Table(show_header=True, header_style="bold")
    for column in ("recipe", "methods", "data", "what"):
        table.add_column(column)
    for recipe in list_recipes():
        table.add_row(recipe.name, ",".join(recipe.methods), "--data-dir" if recipe.needs_data else "bundled", recipe.summary)
    Console().print(table)


if __name__ == "__main__":
    app()
