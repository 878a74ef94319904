"""The ``spikegrad`` command: train, eval, analyze, export, recipes."""

from __future__ import annotations

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


@app.callback()
def _one_process_unless_training(context: typer.Context) -> None:
    """Refuse every command but ``train`` under torchrun: each would run once per process, side by side."""
    from spikegrad.errors import ConfigError
    from spikegrad.train.distributed import torchrun_world_size

    try:
        processes = torchrun_world_size()
        if processes > 1 and context.invoked_subcommand != "train":
            raise ConfigError("torchrun", f"`spikegrad {context.invoked_subcommand}` runs on one process; only "
                              f"`spikegrad train` runs on several (WORLD_SIZE is {processes})")
    except SpikegradError as err:
        _fail(err)


@app.command()
def train(
    recipe: str = typer.Argument("digits", help="recipe name (see `spikegrad recipes`)"),
    method: Optional[str] = typer.Option(None, help="learning rule (default: the recipe's first)"),
    data_dir: Optional[Path] = typer.Option(None, help="the dataset's folder (default: $SPIKEGRAD_DATA/<dataset>)"),
    epochs: Optional[int] = typer.Option(None, help="number of epochs"),
    batch_size: Optional[int] = typer.Option(None, help="mini-batch size"),
    seed: Optional[int] = typer.Option(None, help="random seed"),
    device: Optional[str] = typer.Option(None, help="cpu, cuda or cuda:N"),
    amp: Optional[str] = typer.Option(None, help="bf16: synapses under bfloat16 autocast, membranes in float32"),
    synapse_mode: Optional[str] = typer.Option(
        None, help="auto (default): event-driven Dense synapses for sparse CPU inputs; dense; event"),
    compile_: bool = typer.Option(False, "--compile", help="compile the neuron scans' backward pass for the CPU (torch.compile)"),
    out: Optional[Path] = typer.Option(None, help="run directory (default: runs/<recipe>-<method>-<time>)"),
    set_: list[str] = typer.Option([], "--set", help="override a setting or run option: key=value (repeatable)"),
    resume: Optional[Path] = typer.Option(None, help="continue the interrupted run in this directory"),
    overwrite: bool = typer.Option(False, "--overwrite", help="replace the run already in --out (default: refuse)"),
    tensorboard: bool = typer.Option(False, "--tensorboard", help="also log every epoch to <run>/tensorboard (extra)"),
    release_memory: bool = typer.Option(False, "--release-memory", help=RELEASE_MEMORY_HELP),
) -> None:
    """Train a recipe and write a run directory (config, metrics.csv, checkpoint, plots, summary.json)."""
    _memory_policy(release_memory)
    from spikegrad.train import Trainer, build_experiment, get_recipe, read_config
    from spikegrad.train.config import parse_set_options
    from spikegrad.train.distributed import torchrun_world

    run_dir = resume
    try:
        given = {"method": method, "epochs": epochs, "batch_size": batch_size, "seed": seed, "device": device,
                 "amp": amp, "synapse_mode": synapse_mode, "data_dir": str(data_dir) if data_dir is not None else None,
                 "compile": True if compile_ else None}
        overrides = {k: v for k, v in given.items() if v is not None}
        overrides.update(parse_set_options(set_))
        if resume is not None:
            if overrides or out is not None or overwrite or recipe != "digits":
                from spikegrad.errors import ConfigError

                raise ConfigError("--resume", "continues a run exactly as it was configured: give the run directory "
                                  "alone (its config.yaml holds every option)")
            config = read_config(resume / "config.yaml")
        else:
            config = get_recipe(recipe).configure(overrides)
            run_dir = out or Path("runs") / f"{config.recipe}-{config.method}-{time.strftime('%Y%m%d-%H%M%S')}"
        with torchrun_world(config.device) as world:
            processes = f" x {world.size} processes" if world.size > 1 else ""
            trainer = Trainer(build_experiment(config), run_dir, console, tensorboard=tensorboard, world=world)
            trainer.console.print(f"[bold]{config.recipe}[/] with {config.method}: {config.epochs} epochs on "
                                  f"{config.device}{processes} -> {run_dir}")
            summary = trainer.fit(resume=resume is not None, overwrite=overwrite)
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
    split: str = typer.Option("test", help="test, train or all (spike-train problems: train)"),
    release_memory: bool = typer.Option(False, "--release-memory", help=RELEASE_MEMORY_HELP),
) -> None:
    """Evaluate a trained run on a data directory of the same format; prints and writes eval-<split>.json."""
    _memory_policy(release_memory)
    from spikegrad.train.runs import evaluate_run

    try:
        result = evaluate_run(run_dir, split, data_dir)
    except SpikegradError as err:
        _fail(err)
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
    from spikegrad.analysis.activity import EnergyModel
    from spikegrad.analysis.activity_plot import plot_activity
    from spikegrad.train.runs import analyze_run

    try:
        result = analyze_run(run_dir, split, samples, batch_size, EnergyModel(e_mac_pj=e_mac, e_ac_pj=e_ac), data_dir)
        report = result.report
        written = report.write(run_dir)
        title = f"{result.config.recipe} ({result.config.method}), {split} split"
        plot = plot_activity(report, run_dir / "activity.png", title=title)
    except SpikegradError as err:
        _fail(err)
    table = Table(title=f"{result.config.recipe}: event-driven inference, {result.samples} {split} samples, T = {report.steps}")
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
    console.print(f"accuracy on these samples {result.accuracy:.4f}; energy ANN/SNN {totals['energy_ratio_ann_over_snn']:.3g} "
                  f"(E_MAC {e_mac:g} pJ, E_AC {e_ac:g} pJ); wrote {written['json']}, {written['csv']}, {plot}")
    summary = {"run_dir": str(run_dir), "split": split, "samples": result.samples, "accuracy": result.accuracy, **totals}
    (run_dir / "activity-summary.json").write_text(json.dumps(summary, indent=2) + "\n")


@app.command()
def export(
    run_dir: Path = typer.Argument(..., help="a run directory written by `spikegrad train`"),
    format: str = typer.Option("nir", "--format", help="nir (the Neuromorphic Intermediate Representation)"),
    out: Optional[Path] = typer.Option(None, help="the file to write (default: RUN_DIR/model.nir)"),
    approximate_reset: bool = typer.Option(False, "--approximate-reset",
                                           help="write reset-by-subtraction neurons as reset to zero and report the spike agreement"),
    dt: Optional[float] = typer.Option(None, help="the graph's time step in seconds (default: the network's own)"),
) -> None:
    """Write a trained network to NIR (needs the `nir` extra: pip install 'spikegrad[nir]')."""
    from spikegrad.errors import ConfigError

    try:
        if format != "nir":
            raise ConfigError("--format", f"expected 'nir', got {format!r}")
        from spikegrad.export import export_run

        path = export_run(run_dir, out, approximate=approximate_reset, dt=dt, report=typer.echo)
    except SpikegradError as err:
        _fail(err)
    typer.echo(f"wrote {path}")


@app.command()
def compare(
    recipe: str = typer.Argument(..., help="recipe name (see `spikegrad recipes`)"),
    methods: str = typer.Option(..., help="comma-separated rules, e.g. bptt,slayer,lee,na"),
    seeds: int = typer.Option(1, help="seeds 0..N-1 per rule"),
    epochs: Optional[int] = typer.Option(None, help="number of epochs of every run"),
    data_dir: Optional[Path] = typer.Option(None, help="the dataset's folder"),
    out: Optional[Path] = typer.Option(None, help="comparison directory (default: runs/compare-<recipe>)"),
    set_: list[str] = typer.Option([], "--set", help="override a setting of every run: key=value (repeatable)"),
) -> None:
    """Train one recipe with several rules on the same weights, data and seeds; write compare.csv/.md and curves.png."""
    from spikegrad.train.compare import aggregate
    from spikegrad.train.compare import compare as run_comparison

    options = [*(["--epochs", str(epochs)] if epochs is not None else []),
               *(["--data-dir", str(data_dir)] if data_dir is not None else []),
               *[arg for item in set_ for arg in ("--set", item)]]
    folder = out or Path("runs") / f"compare-{recipe}"

    def progress(method: str, seed: int, index: int, total: int) -> None:
        console.print(f"[bold]{index + 1}/{total}[/] {recipe}: rule {method}, seed {seed}")

    try:
        results = run_comparison(recipe, [m.strip() for m in methods.split(",") if m.strip()], seeds, folder, options,
                                 progress)
    except SpikegradError as err:
        _fail(err)
    rows = aggregate(results)
    table = Table(title=f"{recipe}: {len(results)} runs in {folder}")
    for column in rows[0]:
        table.add_column(column, justify="left" if column == "rule" else "right")
    for row in rows:
        table.add_row(*(row.get(column, "-") for column in rows[0]))
    Console(width=None if Console().is_terminal else 160).print(table)
    console.print(f"wrote {folder / 'compare.csv'}, {folder / 'compare.md'}, {folder / 'curves.png'}")


@app.command()
def recipes(name: Optional[str] = typer.Argument(None, help="a recipe: list its settings and run options")) -> None:
    """List the recipes, one line each; with a name, the recipe's settings with their types and defaults."""
    from spikegrad.train import get_recipe, list_recipes

    if name is None:
        table = Table(show_header=True, header_style="bold")
        for column in ("recipe", "methods", "data", "what"):
            table.add_column(column)
        for recipe in list_recipes():
            table.add_row(recipe.name, ",".join(recipe.methods), "--data-dir" if recipe.needs_data else "bundled", recipe.summary)
        Console().print(table)
        return
    try:
        recipe = get_recipe(name)
    except SpikegradError as err:
        _fail(err)
    settings = Table(title=f"{recipe.name}: settings ({type(recipe.defaults.settings).__name__}; --set key=value)")
    for column in ("setting", "type", "default", "what"):
        settings.add_column(column)
    for info in recipe.defaults.settings.fields_info():
        settings.add_row(info.name, info.type, str(recipe.defaults.settings.to_dict()[info.name]), info.doc)
    options = Table(title=f"{recipe.name}: run options (--set key=value, or their --flags)")
    for column in ("option", "default", "note"):
        options.add_column(column)
    for key, value in recipe.defaults.to_dict().items():
        if key not in ("recipe", "settings"):
            options.add_row(key, str(value), f"not used: {recipe.unused[key]}" if key in recipe.unused else "")
    Console().print(recipe.summary)
    Console().print(settings)
    Console().print(options)


if __name__ == "__main__":
    app()
