"""Speaker-independent FSDD: leave-one-speaker-out with the ``slayer-fsdd`` recipe.

Trains once per speaker on the recordings of the other speakers and tests on every recording of the held-out
one (``--set held_out_speaker=<name>``); prints the final and best test accuracy per held-out speaker, their
mean and the worst, and writes ``loso.csv`` in ``--out``. Settings after ``--set`` apply to every fold.

    python benchmarks/fsdd_loso.py --data-dir ../shared/data/fsdd --out runs/fsdd-loso [--set key=value ...]
"""

from __future__ import annotations

import argparse
import csv
import statistics
from pathlib import Path

from spikegrad.data.audio import FSDD_NAME
from spikegrad.train.config import parse_set_options
from spikegrad.train.runs import fit_recipe


def speakers(data_dir: Path) -> list[str]:
    """The speakers named in the FSDD file names under ``data_dir`` (or its ``recordings/``)."""
    folder = data_dir / "recordings" if (data_dir / "recordings").is_dir() else data_dir
    return sorted({match.group(2) for path in folder.glob("*.wav") if (match := FSDD_NAME.match(path.stem))})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path("runs/fsdd-loso"))
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="key=value for every fold")
    args = parser.parse_args()
    overrides = parse_set_options(args.overrides)
    rows = []
    for speaker in speakers(args.data_dir):
        run_dir = args.out / speaker
        summary, history = fit_recipe("slayer-fsdd", {**overrides, "data_dir": str(args.data_dir),
                                                      "held_out_speaker": speaker}, run_dir, quiet=False)
        rows.append({"held_out_speaker": speaker, "final_test_accuracy": summary["test_accuracy"],
                     "best_test_accuracy": summary["best_test_accuracy"], "epochs": summary["epochs"],
                     "seconds_per_epoch": summary["seconds_per_epoch"]})
        print(rows[-1], flush=True)
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
