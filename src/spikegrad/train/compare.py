"""``spikegrad compare``: the learning rules side by side on one recipe's network, data and seeds.

Every (rule, seed) pair is one ordinary run, trained in its own process (so its peak memory is its own)
under ``<out>/<rule>-seed<k>/``. For one seed every rule starts from the same synapse weights (the
recipe seeds the initialisation before any layer is built, and neuron layers draw nothing), sees the
same data order and the same encodings (every epoch re-seeds from ``(seed, epoch)``). A comparison that
is interrupted resumes where it stopped: finished runs are kept, an interrupted run continues from its
checkpoint. The result is ``compare.csv`` (one row per run), ``compare.md`` (mean +- std over seeds per
rule) and ``curves.png`` (the evaluation metric per epoch, mean and spread over seeds).
"""

from __future__ import annotations

import csv
import dataclasses
import json
import shutil
import statistics
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from spikegrad.errors import ConfigError, SpikegradError
from spikegrad.train.checkpoint import CHECKPOINT
from spikegrad.train.recipe import get_recipe

ACTIVITY_SAMPLES = 200
"""Test samples on which spikes and synaptic operations per sample are counted (classification runs)."""


@dataclasses.dataclass(frozen=True)
class RunResult:
    """One (rule, seed) run of a comparison, as read back from its run directory."""

    method: str
    seed: int
    run_dir: Path
    summary: dict[str, Any]
    history: list[dict[str, float]]
    activity: dict[str, float]


def _run_dir(out: Path, method: str, seed: int) -> Path:
    return out / f"{method}-seed{seed}"


def _train(recipe: str, method: str, seed: int, options: Sequence[str], run_dir: Path) -> None:
    """Train (or resume) one run in a child process; its errors reach the user as one line."""
    if (run_dir / "summary.json").is_file():
        return
    if (run_dir / CHECKPOINT).is_file():
        command = ["train", "--resume", str(run_dir)]
    else:
        shutil.rmtree(run_dir, ignore_errors=True)  # started but not one epoch finished: start again
        command = ["train", recipe, "--method", method, "--seed", str(seed), "--out", str(run_dir), *options]
    done = subprocess.run([sys.executable, "-m", "spikegrad", *command], capture_output=True, text=True)
    if done.returncode != 0:
        last = (done.stderr or done.stdout).strip().splitlines()
        raise ComparisonError(f"{method}, seed {seed}: {last[-1] if last else f'exit code {done.returncode}'}")


class ComparisonError(SpikegradError):
    """A run of the comparison failed; the message names the rule, the seed and the run's error."""


def _activity(run_dir: Path, summary: dict[str, Any]) -> dict[str, float]:
    """Spikes and synaptic operations per test sample of a classification run (empty for other runs)."""
    from spikegrad.train.runs import analyze_run

    if "test_accuracy" not in summary:  # a spike-train problem: no test samples to analyse
        return {}
    result = analyze_run(run_dir, samples=ACTIVITY_SAMPLES)
    spikes = sum(row["spikes_per_neuron_per_sample"] * row["neurons"] for row in result.report.rows()
                 if row["role"] == "neuron")
    return {"spikes_per_sample": spikes, "synops_per_sample": result.report.totals()["synops_per_sample"]}


def _read(method: str, seed: int, run_dir: Path) -> RunResult:
    summary = json.loads((run_dir / "summary.json").read_text())
    with open(run_dir / "metrics.csv", newline="") as handle:
        history = [{k: float(v) for k, v in row.items() if v != ""} for row in csv.DictReader(handle)]
    activity_file = run_dir / "activity-compare.json"
    if not activity_file.is_file():
        activity_file.write_text(json.dumps(_activity(run_dir, summary)))
    return RunResult(method, seed, run_dir, summary, history, json.loads(activity_file.read_text()))


def compare(
    recipe: str,
    methods: Sequence[str],
    seeds: int,
    out: str | Path,
    options: Sequence[str] = (),
    on_run: Callable[[str, int, int, int], None] | None = None,
) -> list[RunResult]:
    """Train ``recipe`` with every rule in ``methods`` for seeds ``0..seeds-1`` and write the tables and figure.

    Args:
        options: further ``spikegrad train`` options given to every run (``--epochs``, ``--set k=v``, ...).
        on_run: called as ``on_run(method, seed, index, total)`` before each run (progress).
    """
    spec = get_recipe(recipe)
    if not methods:
        raise ConfigError("--methods", "name at least one rule")
    unknown = [m for m in methods if m not in spec.methods]
    if unknown:
        raise ConfigError("--methods", f"recipe {recipe!r} trains with {', '.join(spec.methods)}; not {', '.join(unknown)}")
    if seeds < 1:
        raise ConfigError("--seeds", f"must be >= 1, got {seeds}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    pairs = [(method, seed) for seed in range(seeds) for method in methods]
    results = []
    for index, (method, seed) in enumerate(pairs):
        if on_run is not None:
            on_run(method, seed, index, len(pairs))
        run_dir = _run_dir(out, method, seed)
        _train(recipe, method, seed, options, run_dir)
        results.append(_read(method, seed, run_dir))
    write_tables(results, out)
    from spikegrad.analysis.plots import plot_comparison

    plot_comparison({m: [r.history for r in results if r.method == m] for m in methods}, _metric(results[0]),
                    out / "curves.png", title=recipe)
    return results


def _metric(result: RunResult) -> str:
    """The evaluated metric of a run: ``test_accuracy``, or ``train_correlation`` etc. of spike-train problems."""
    return next(key for key in result.summary if key.startswith("best_"))[len("best_"):]


def _mean_std(values: list[float]) -> str:
    if not values:
        return "-"
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.4g} +- {spread:.2g}"


def aggregate(results: Sequence[RunResult]) -> list[dict[str, str]]:
    """One row per rule: final and best metric, solved runs, time, memory and activity, mean +- std over seeds."""
    metric = _metric(results[0])
    rows = []
    for method in dict.fromkeys(r.method for r in results):
        runs = [r for r in results if r.method == method]
        row = {"rule": method, "seeds": str(len(runs)),
               f"final {metric}": _mean_std([r.summary[metric] for r in runs]),
               f"best {metric}": _mean_std([r.summary[f"best_{metric}"] for r in runs])}
        if "solved" in runs[0].summary:
            solved = [r.summary["epochs_to_solve"] for r in runs if r.summary["solved"]]
            row["solved"] = f"{len(solved)}/{len(runs)}"
            row["epochs to solve"] = _mean_std([float(e) for e in solved])
        row["s/epoch"] = _mean_std([r.summary["seconds_per_epoch"] for r in runs])
        row["peak MiB"] = _mean_std([r.summary["peak_memory_mb"] for r in runs])
        if runs[0].activity:
            row["spikes/sample"] = _mean_std([r.activity["spikes_per_sample"] for r in runs])
            row["SynOps/sample"] = _mean_std([r.activity["synops_per_sample"] for r in runs])
        rows.append(row)
    return rows


def write_tables(results: Sequence[RunResult], out: Path) -> None:
    """``compare.csv``: every run; ``compare.md``: :func:`aggregate` as a Markdown table."""
    metric = _metric(results[0])
    keys = ["method", "seed", "epochs", metric, f"best_{metric}", "seconds_per_epoch", "peak_memory_mb",
            "solved", "epochs_to_solve", "spikes_per_sample", "synops_per_sample", "run_dir"]
    with open(out / "compare.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=keys, extrasaction="ignore")
        writer.writeheader()
        for r in results:
            writer.writerow({**r.summary, **r.activity, "method": r.method, "seed": r.seed, "run_dir": str(r.run_dir)})
    rows = aggregate(results)
    header = list(rows[0])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row.get(k, "-") for k in header) + " |" for row in rows]
    (out / "compare.md").write_text("\n".join(lines) + "\n")
