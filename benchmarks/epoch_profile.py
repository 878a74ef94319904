"""Where a recipe's training epoch goes: the torch profiler's self time per kind of operation, and the
largest speed-up that is left once the dense products are taken as fixed.

One epoch of each recipe is trained in this process (``spikegrad.train.runs.fit_recipe``, the options of
``epoch_ab.py``) with :mod:`torch.profiler` recording the CPU ops of the training loop only (the
experiment's ``train_epoch``; evaluation is not profiled). Each ATen op's self time is put into one of the
kinds of :data:`KINDS` (first match; everything else is "elementwise and other ops"), and the time outside
every op (Python, data handling, the profiler's own bookkeeping) is the wall time of the epoch minus the
sum. The last column divides the epoch by the time of its dense convolutions and matrix products: the
speed-up an implementation would reach if everything else took no time at all while those stayed as they
are (Amdahl's bound).

The profiler adds a few microseconds to every op, so the profiled epoch is slower than an unprofiled one
and the many small per-step ops weigh more than they do in ``epoch_ab.py``; the bound is therefore
optimistic.

Run from the repository root::

    python benchmarks/epoch_profile.py --data ../shared/data
    python benchmarks/epoch_profile.py --data ../shared/data --recipes lee-mnist --top 15
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "src"))

from epoch_ab import RECIPES

KINDS: list[tuple[str, str]] = [
    ("dense convolution", r"convolution|conv2d|conv_depthwise|mkldnn_conv"),
    ("dense matrix products", r"^aten::(mm|addmm|bmm|baddbmm|matmul|linear)$"),
    ("event synapses (gather, indices)", r"embedding_bag|nonzero|searchsorted|^aten::sort$|aminmax"),
    ("pooling", r"pool"),
    ("random numbers", r"uniform_|bernoulli|normal_|random_|randperm"),
]
"""(kind, regular expression on the ATen op name), tried in order."""

OTHER = "elementwise and other ops"
OUTSIDE = "outside ops (Python, data, profiler)"
DENSE = ("dense convolution", "dense matrix products")


def kind_of(name: str) -> str:
    for kind, pattern in KINDS:
        if re.search(pattern, name):
            return kind
    return OTHER


def profile_epoch(recipe: str, data: Path, options: list[str], top: int) -> tuple[dict[str, float], float, list]:
    """Train one epoch of ``recipe``; returns (seconds per kind, wall seconds of the epoch, the top ops)."""
    from rich.console import Console
    from torch.profiler import ProfilerActivity, profile

    from spikegrad.train.recipe import build_experiment, get_recipe
    from spikegrad.train.trainer import Trainer

    folder, recipe_options = RECIPES[recipe]
    overrides = {"epochs": "1", "data_dir": str(data / folder)}
    pairs = [item for flag, item in zip(recipe_options[::2], recipe_options[1::2]) if flag == "--set"]
    overrides.update(pair.split("=", 1) for pair in pairs + options)
    experiment = build_experiment(get_recipe(recipe).configure(overrides))
    measured: dict = {}
    train_epoch = experiment.train_epoch

    def profiled(*args, **kwargs):
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            started = time.perf_counter()
            result = train_epoch(*args, **kwargs)
            measured["wall"] = time.perf_counter() - started
        measured["events"] = prof.key_averages()
        return result

    experiment.train_epoch = profiled  # this instance only: the profiler sees the training loop, not the evaluation
    with tempfile.TemporaryDirectory() as out:
        Trainer(experiment, Path(out) / "run", Console(quiet=True)).fit()
    seconds: dict[str, float] = {}
    ops = []
    for event in measured["events"]:
        if not event.key.startswith("aten::"):
            continue  # autograd nodes and scopes: their self time is their Python and bookkeeping
        self_s = event.self_cpu_time_total / 1e6
        seconds[kind_of(event.key)] = seconds.get(kind_of(event.key), 0.0) + self_s
        ops.append((self_s, event.key, event.count))
    seconds[OUTSIDE] = max(0.0, measured["wall"] - sum(seconds.values()))
    return seconds, measured["wall"], sorted(ops, reverse=True)[:top]


def table(rows: dict[str, tuple[dict[str, float], float]]) -> str:
    kinds = [kind for kind, _ in KINDS] + [OTHER, OUTSIDE]
    lines = ["| recipe | profiled epoch s | " + " | ".join(kinds) + " | epoch / dense products |",
             "|---" * (len(kinds) + 3) + "|"]
    for recipe, (seconds, wall) in rows.items():
        shares = " | ".join(f"{100 * seconds.get(kind, 0.0) / wall:.0f} %" for kind in kinds)
        dense = sum(seconds.get(kind, 0.0) for kind in DENSE)
        bound = f"{wall / dense:.2f}x" if dense > 0 else "-"
        lines.append(f"| `{recipe}` | {wall:.2f} | {shares} | {bound} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data", help="folder with mnist/, nmnist/, fsdd/")
    parser.add_argument("--recipes", nargs="+", default=["mnist-mlp", "lee-mnist", "na-mnist", "slayer-nmnist"],
                        choices=sorted(RECIPES))
    parser.add_argument("--set", dest="options", action="append", default=[], metavar="KEY=VALUE",
                        help="a recipe setting for every recipe (repeatable)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--top", type=int, default=8, help="also print this many ops with the most self time per recipe")
    args = parser.parse_args(argv)

    import torch

    from spikegrad.runtime import keep_freed_memory

    keep_freed_memory()  # as `spikegrad train` (and so epoch_ab.py) runs
    torch.set_num_threads(args.threads)
    rows = {}
    for recipe in args.recipes:
        seconds, wall, ops = profile_epoch(recipe, args.data, args.options, args.top)
        rows[recipe] = (seconds, wall)
        print(f"{recipe}: top ops by self time")
        for self_s, name, count in ops:
            print(f"  {1000 * self_s:9.1f} ms  {count:7d} calls  {name}  ({kind_of(name)})")
    print(f"\ntorch {torch.__version__}, {args.threads} threads; shares of the profiled epoch (training loop only)\n")
    print(table(rows))


if __name__ == "__main__":
    main()
