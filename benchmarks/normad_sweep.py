"""NormAD acceptance sweeps: per seed, the multi-layer rule against training only the output layer.

Run: ``PYTHONPATH=src python benchmarks/normad_sweep.py normad-3layer [--seeds 10] [--workers 2]``.

Each seed draws its own problem and initial weights; both variants start from the same weights and train
for at most the recipe's epochs, stopping once solved. Prints one row per seed (solved, epochs to solve,
best and final correlation, CPU seconds) and the totals.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch

from spikegrad.train.runs import fit_recipe

PROBLEMS = ("normad-single", "normad-xor", "normad-3layer")


def _one(problem: str, seed: int, train_hidden: bool) -> dict:
    torch.set_num_threads(1)
    cpu = time.process_time()
    with tempfile.TemporaryDirectory() as folder:
        summary, rows = fit_recipe(problem, {"seed": seed, "train_hidden": train_hidden}, Path(folder))
    correlations = [1.0 - summary["initial_loss"]] + [row["train_correlation"] for row in rows]
    return {"solved": summary["solved"], "epochs": summary["epochs_to_solve"], "best": max(correlations),
            "final": correlations[-1], "cpu_s": time.process_time() - cpu}


def _cell(row: dict) -> str:
    epochs = f"solved at {row['epochs']}" if row["solved"] else "not solved"
    return f"{epochs}, best C {row['best']:.3f}, final {row['final']:.3f} ({row['cpu_s']:.0f} s)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("problem", choices=PROBLEMS)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    variants = [(seed, hidden) for seed in range(args.seeds) for hidden in (True, False)]
    with ProcessPoolExecutor(args.workers) as pool:
        rows = list(pool.map(_one, [args.problem] * len(variants), *zip(*variants)))
    results = dict(zip(variants, rows))
    print(f"# {args.problem}, torch {torch.__version__}, one thread per run")
    print("| seed | multi-layer rule | output layer only |\n|---|---|---|")
    for seed in range(args.seeds):
        print(f"| {seed} | {_cell(results[seed, True])} | {_cell(results[seed, False])} |")
    for hidden, name in ((True, "multi-layer rule"), (False, "output layer only")):
        solved = [results[seed, hidden]["epochs"] for seed in range(args.seeds) if results[seed, hidden]["solved"]]
        median = f", median {statistics.median(solved):g} epochs" if solved else ""
        print(f"{name}: {len(solved)}/{args.seeds} solved{median}")


if __name__ == "__main__":
    main()
