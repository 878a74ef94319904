"""Speaker-independent FSDD: leave-one-speaker-out with the ``slayer-fsdd`` recipe.

Trains once per speaker on the recordings of the other speakers and tests on every recording of the held-out
one (``--set held_out_speaker=<name>``); prints the final and best test accuracy per held-out speaker, their
mean and the worst, and writes ``loso.csv`` in ``--out``. Settings after ``--set`` apply to every fold.

    python benchmarks/fsdd_loso.py --data-dir ../shared/data/fsdd --out runs/fsdd-loso [--jobs 2] [--set key=value ...]
"""

from __future__ import annotations

import argparse
import csv
import functools
import multiprocessing
import statistics
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch

from spikegrad.data.audio import fsdd_recordings
from spikegrad.train.config import parse_set_options
from spikegrad.train.runs import fit_recipe


def fold(speaker: str, overrides: dict, data_dir: Path, out: Path, threads: int) -> dict:
    """Train with ``speaker`` held out; the fold's row of ``loso.csv``."""
    torch.set_num_threads(threads)
    summary, _ = fit_recipe("slayer-fsdd", {**overrides, "data_dir": str(data_dir), "held_out_speaker": speaker},
                            out / speaker, quiet=True)
    row = {"held_out_speaker": speaker, "final_test_accuracy": summary["test_accuracy"],
           "best_test_accuracy": summary["best_test_accuracy"], "epochs": summary["epochs"],
           "seconds_per_epoch": summary["seconds_per_epoch"]}
    print(row, flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path("runs/fsdd-loso"))
    parser.add_argument("--jobs", type=int, default=1, help="folds trained at once (the threads are shared out)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="key=value for every fold")
    args = parser.parse_args()
    overrides = parse_set_options(args.overrides)
    speakers = sorted({recording.speaker for recording in fsdd_recordings(args.data_dir)[1]})
    threads = max(1, torch.get_num_threads() // args.jobs)
    with ProcessPoolExecutor(args.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        run_fold = functools.partial(fold, overrides=overrides, data_dir=args.data_dir, out=args.out, threads=threads)
        rows = list(pool.map(run_fold, speakers))
    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / "loso.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    finals = [row["final_test_accuracy"] for row in rows]
    print("| held-out speaker | final test accuracy | best test accuracy |\n|---|---|---|")
    for row in rows:
        print(f"| {row['held_out_speaker']} | {row['final_test_accuracy']:.4f} | {row['best_test_accuracy']:.4f} |")
    print(f"| mean (final) | {statistics.mean(finals):.4f} | |\n| worst (final) | {min(finals):.4f} | |")


if __name__ == "__main__":
    main()
