"""Seconds per epoch of recipes, two commits A/B in one run (issue 14: before and after a change).

For every recipe it trains one short run from each of two git commits, alternately (A, B, A, B, ...), each
in its own process (``python -m spikegrad train`` with the commit's ``src/`` first on ``PYTHONPATH``), and
reads ``seconds_per_epoch``, the test accuracy and (where the commit has it) ``event_synapse_share`` from
each run's ``summary.json``. It prints one table: medians over the rounds, the ratio before / after, both
accuracies (identical numbers mean the same training to the printed precision) and each side's peak memory
(``peak_memory_mb``: the run's peak resident set).

The commits are checked out into temporary worktrees (``git worktree add --detach``), removed at the end.

Run from the repository root::

    python benchmarks/epoch_ab.py --before 93d1659 --after HEAD --rounds 3 --data ../shared/data
    python benchmarks/epoch_ab.py --recipes mnist-mlp --rounds 5 --data ../shared/data
    python benchmarks/epoch_ab.py --before HEAD --after HEAD --after-options=--compile --epochs 2 --recipes mnist-mlp

``--before-options``/``--after-options`` add command-line options to one side (e.g. an option A/B on one
commit). Where a run compiled (``--compile``), its first epoch includes the compilation: the table gives
the compile seconds and the seconds per epoch without them, ``(train_seconds - compile_seconds) / epochs``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# recipe -> (dataset folder under --data, options that keep one epoch to a minute or two on 2 cores)
RECIPES: dict[str, tuple[str, list[str]]] = {
    "mnist-mlp": ("mnist", []),
    "lee-mnist": ("mnist", ["--set", "train_limit=500", "--set", "test_limit=500"]),
    "na-mnist": ("mnist", ["--set", "train_limit=1000", "--set", "test_limit=1000"]),
    "slayer-nmnist": ("nmnist", ["--set", "train_limit=100", "--set", "test_limit=100"]),
    "slayer-fsdd": ("fsdd", ["--set", "train_limit=500", "--set", "test_limit=300"]),
}


def checkout(commit: str, into: Path) -> Path:
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "--force", str(into), commit],
                   check=True, capture_output=True)
    return into


def train_once(tree: Path, recipe: str, data: Path, out: Path, epochs: int, extra: list[str]) -> dict:
    folder, options = RECIPES[recipe]
    env = dict(os.environ, PYTHONPATH=str(tree / "src"))
    cmd = [sys.executable, "-m", "spikegrad", "train", recipe, "--epochs", str(epochs), "--data-dir",
           str(data / folder), "--out", str(out), "--overwrite", *options, *extra]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{recipe} at {tree.name} failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return json.loads((out / "summary.json").read_text())


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--before", default="93d1659", help="commit A (default: main before issue 14's work)")
    p.add_argument("--after", default="HEAD", help="commit B")
    p.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    p.add_argument("--json", type=Path, help="also write every run's summary here")
    p.add_argument("--before-options", default="", help="extra `spikegrad train` options for commit A")
    p.add_argument("--after-options", default="", help="extra `spikegrad train` options for commit B")
    args = p.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="epoch_ab_"))
    trees = {"before": checkout(args.before, work / "before"), "after": checkout(args.after, work / "after")}
    extra = {"before": shlex.split(args.before_options), "after": shlex.split(args.after_options)}
    runs: list[dict] = []
    try:
        for recipe in args.recipes:
            for round_index in range(args.rounds):
                for side, tree in trees.items():
                    summary = train_once(tree, recipe, args.data, work / f"run-{side}", args.epochs, extra[side])
                    compiling = summary.get("compile_seconds", 0.0)
                    summary["seconds_per_epoch"] = (summary["train_seconds"] - compiling) / summary["epochs"]
                    runs.append({"recipe": recipe, "side": side, "round": round_index, **summary})
                    print(f"  {recipe} {side} round {round_index + 1}: {summary['seconds_per_epoch']:.2f} s/epoch, "
                          f"test accuracy {summary.get('test_accuracy')}", flush=True)
                    if args.json:
                        args.json.write_text(json.dumps(runs, indent=1))
    finally:
        for tree in trees.values():
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)

    print(f"\nbefore = {args.before} {args.before_options}, after = {args.after} {args.after_options}; "
          f"{args.epochs} epoch(s), median of {args.rounds} rounds; s/epoch without compile seconds")
    print("| recipe | before s/epoch | after s/epoch | speed-up | before test acc. | after test acc. | event share "
          "| compile s (before / after) | peak RSS MiB (before / after) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for recipe in args.recipes:
        side = {s: [r for r in runs if r["recipe"] == recipe and r["side"] == s] for s in trees}
        seconds = {s: statistics.median(r["seconds_per_epoch"] for r in side[s]) for s in trees}
        accuracy = {s: sorted({r.get("test_accuracy") for r in side[s]}) for s in trees}
        share = side["after"][0].get("event_synapse_share")
        compiling = " / ".join(f"{statistics.median(r.get('compile_seconds', 0.0) for r in side[s]):.1f}" for s in trees)
        memory = " / ".join(f"{statistics.median(r.get('peak_memory_mb', math.nan) for r in side[s]):.0f}" for s in trees)
        speed_up = seconds["before"] / seconds["after"]
        print(f"| {recipe} | {seconds['before']:.2f} | {seconds['after']:.2f} | {speed_up:.2f} | "
              f"{'/'.join(map(str, accuracy['before']))} | {'/'.join(map(str, accuracy['after']))} | {share} "
              f"| {compiling} | {memory} |")


if __name__ == "__main__":
    main()
