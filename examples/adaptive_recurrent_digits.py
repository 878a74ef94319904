"""Neurons beyond the papers' on ``digits``: trainable decay/threshold, adaptive threshold, recurrence.

Trains the ``digits`` recipe (LIF MLP 64-128-10 on rate-coded scikit-learn 8x8 digits, no download) once
per variant and seed, with the recipe's own schedule unless ``--epochs`` is given, and prints a Markdown
table of final test accuracies (after the last epoch, on the 360-image hold-out). For one seed every variant starts from the same synapse weights and sees the
same data: the neurons' own parameters start at the LIF constants (recurrent weights at zero) and
building them draws no random numbers.

    python examples/adaptive_recurrent_digits.py --seeds 0 1 2 --methods bptt slayer [--variants lif alif]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from spikegrad.train.runs import fit_recipe

VARIANTS: dict[str, tuple[str, dict[str, str]]] = {  # name: (table label, recipe settings)
    "lif": ("LIF (baseline)", {}),
    "learn": ("LIF, trainable tau + threshold (per neuron)", {"learn_decay": "neuron", "learn_threshold": "neuron"}),
    "alif": ("adaptive LIF (b 0.1, tau_adapt 100 ms)", {"adapt_strength": "0.1", "tau_adapt": "100"}),
    "recurrent": ("recurrent LIF", {"recurrent": "true"}),
    "all": ("all three", {"learn_decay": "neuron", "learn_threshold": "neuron", "adapt_strength": "0.1",
                          "tau_adapt": "100", "recurrent": "true"}),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--methods", nargs="+", default=["bptt"], help="rules that train these neurons: bptt, slayer")
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--epochs", type=int, default=None, help="default: the recipe's (20)")
    parser.add_argument("--out", type=Path, default=None, help="run directories (default: a temporary folder)")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="spikegrad-neurons-"))
    header = ["variant", "method", *(f"seed {s}" for s in args.seeds), "mean", "s/run"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for method in args.methods:
        for name in args.variants:
            label, overrides = VARIANTS[name]
            accuracies, seconds = [], []
            for seed in args.seeds:
                options = {"method": method, "seed": seed, **overrides}
                if args.epochs is not None:
                    options["epochs"] = args.epochs
                start = time.perf_counter()
                summary, _ = fit_recipe("digits", options, out / f"{method}-{name}-seed{seed}")
                seconds.append(time.perf_counter() - start)
                accuracies.append(summary["test_accuracy"])
            cells = [f"{a:.3f}" for a in accuracies] + [f"{statistics.mean(accuracies):.3f}", f"{statistics.mean(seconds):.0f}"]
            print(f"| {label} | {method} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
