"""Event-driven against dense fully connected synapses, per op, over the input's density (issue 14).

For ``x[N, in]`` random 0/1 spikes at each density and a weight ``[out, in]`` it times, with
``torch.utils.benchmark`` (median of the measured runs), in one process:

- forward: ``F.linear`` against :func:`spikegrad.functional.event_linear.event_linear`;
- backward of a hidden layer (input and weight gradient) and of a first layer (weight gradient only);

and prints one table with the ratios. ``--blocks`` times the weight gradient's gather for several block
sizes (:data:`spikegrad.functional.event_linear.GATHER_BLOCK_BYTES`) at one density.

Run from the repository root::

    python benchmarks/bench_event_synapse.py                       # N = 32000 (T = 500, B = 64), 1024 x 1024
    python benchmarks/bench_event_synapse.py --rows 6400 --densities 0.05 0.2
    python benchmarks/bench_event_synapse.py --blocks
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils import benchmark

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from spikegrad.functional import event_linear as event_module
from spikegrad.runtime import keep_freed_memory


def median_ms(fn, min_run_time: float) -> float:
    timer = benchmark.Timer("fn()", globals={"fn": fn}, num_threads=torch.get_num_threads())  # default: 1 thread
    return timer.blocked_autorange(min_run_time=min_run_time).median * 1e3


def backward_fn(op, x, weight, grad):
    def run():
        weight.grad = None
        if x.requires_grad:
            x.grad = None
        op(x, weight).backward(grad)

    return run


def density_rows(args) -> list[str]:
    gen = torch.Generator().manual_seed(0)
    weight = torch.randn(args.out_features, args.in_features, generator=gen, requires_grad=True)
    rows = [("| density | dense fwd ms | event fwd ms | fwd ratio | dense bwd ms (x, W) | event bwd ms (x, W) "
             "| dense bwd ms (W) | event bwd ms (W) | fwd+bwd (x, W) ratio |"), "|" + "---|" * 9]
    for density in args.densities:
        x = (torch.rand(args.rows, args.in_features, generator=gen) < density).float()
        grad = torch.randn(args.rows, args.out_features, generator=gen)
        fwd = [median_ms(lambda op=op, x=x: op(x, weight.detach()), args.min_time) for op in (F.linear, event_module.event_linear)]
        hidden = x.clone().requires_grad_()
        bwd_hidden = [median_ms(backward_fn(op, hidden, weight, grad), args.min_time) - f
                      for op, f in zip((F.linear, event_module.event_linear), fwd)]
        bwd_first = [median_ms(backward_fn(op, x, weight, grad), args.min_time) - f
                     for op, f in zip((F.linear, event_module.event_linear), fwd)]
        total = (fwd[0] + bwd_hidden[0]) / (fwd[1] + bwd_hidden[1])
        rows.append(f"| {density:.0%} | {fwd[0]:.1f} | {fwd[1]:.1f} | {fwd[0] / fwd[1]:.2f} | {bwd_hidden[0]:.1f} | "
                    f"{bwd_hidden[1]:.1f} | {bwd_first[0]:.1f} | {bwd_first[1]:.1f} | {total:.2f} |")
    return rows


def block_rows(args) -> list[str]:
    gen = torch.Generator().manual_seed(0)
    x = (torch.rand(args.rows, args.in_features, generator=gen) < args.densities[0]).float()
    grad = torch.randn(args.rows, args.out_features, generator=gen)
    active = event_module.ActiveInputs(x)
    dense = median_ms(lambda: grad.t() @ x, args.min_time)
    rows = [f"| block MiB | weight gradient ms at {args.densities[0]:.0%} (dense product: {dense:.1f} ms) |", "|---|---|"]
    saved = event_module.GATHER_BLOCK_BYTES
    try:
        for mib in (2, 4, 8, 16, 32, 128):
            event_module.GATHER_BLOCK_BYTES = mib << 20
            ms = median_ms(lambda: event_module._gather_weight_gradient(
                grad, active.rows, active.cols, active.values, active.row_start, args.in_features), args.min_time)
            rows.append(f"| {mib} | {ms:.1f} |")
    finally:
        event_module.GATHER_BLOCK_BYTES = saved
    return rows


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=32000, help="N = T * B input rows (default 32000)")
    p.add_argument("--in-features", type=int, default=1024)
    p.add_argument("--out-features", type=int, default=1024)
    p.add_argument("--densities", type=float, nargs="+", default=[0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--min-time", type=float, default=1.0, help="seconds of measurement per figure")
    p.add_argument("--blocks", action="store_true", help="time the weight gradient's block sizes instead")
    args = p.parse_args(argv)
    keep_freed_memory()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, x [{args.rows}, {args.in_features}], "
          f"W [{args.out_features}, {args.in_features}]")
    print("\n".join(block_rows(args) if args.blocks else density_rows(args)))


if __name__ == "__main__":
    main()
