"""SLAYER's PSP filter on the CPU: the FIR reference against the exact O(T) IIR form (issue 3).

For each workload ``x[T, B, *neurons]`` (0/1 spikes at 5 %), one iteration is the forward filter plus
the backward correlation (``psp(x).backward(g)``). Prints, per workload: the kernel length ``K``,
median ms (min-max) of FIR (banded Toeplitz product, O(T^2) per neuron) and IIR (two first-order scans
minus the delayed tail, O(T)), the speed-up FIR/IIR, and the largest |IIR - FIR| of the forward output
relative to its largest value (float32).

    PYTHONPATH=src python benchmarks/bench_psp_filter.py            # default workloads
    PYTHONPATH=src python benchmarks/bench_psp_filter.py --iters 9 --threads 1
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch

from spikegrad.functional.alpha_kernel import AlphaKernel
from spikegrad.functional.psp import FilterMethod, psp

# (name, T, batch, neurons per sample, tau_sr ms, Ts ms)
WORKLOADS = [
    ("golden 250-25-1 input", 500, 1, (250,), 1.0, 0.1),
    ("NMNIST MLP input", 300, 12, (2312,), 10.0, 1.0),
    ("NMNIST CNN conv1", 300, 12, (12, 30, 30), 10.0, 1.0),
    ("DVS Gesture conv1", 1450, 4, (16, 32, 32), 10.0, 1.0),
    ("DVS Gesture dense", 1450, 12, (512,), 10.0, 1.0),
]


def time_method(x: torch.Tensor, g: torch.Tensor, kernel: AlphaKernel, method: FilterMethod, iters: int) -> list[float]:
    """Milliseconds of ``iters`` forward+backward passes, after one warm-up."""
    times = []
    for step in range(iters + 1):
        leaf = x.detach().requires_grad_()
        start = time.perf_counter()
        psp(leaf, kernel, method).backward(g)
        if step:
            times.append(1e3 * (time.perf_counter() - start))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iters", type=int, default=5, help="timed iterations per method (default 5)")
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    generator = torch.Generator().manual_seed(0)
    header = f"{'workload':24} {'T':>5} {'neurons':>8} {'K':>4} {'FIR ms':>24} {'IIR ms':>24} {'speed-up':>8} {'max rel diff':>12}"
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, median (min-max) of {args.iters}, load average {load}")
    print(header)
    print("-" * len(header))
    for name, steps, batch, neurons, tau, ts in WORKLOADS:
        kernel = AlphaKernel(tau, ts)
        x = (torch.rand(steps, batch, *neurons, generator=generator) < 0.05).float()
        g = torch.randn(steps, batch, *neurons, generator=generator)
        fir = time_method(x, g, kernel, FilterMethod.FIR, args.iters)
        iir = time_method(x, g, kernel, FilterMethod.IIR, args.iters)
        with torch.no_grad():
            reference = psp(x, kernel, FilterMethod.FIR)
            diff = ((psp(x, kernel, FilterMethod.IIR) - reference).abs().max() / reference.abs().max()).item()
        cells = [f"{statistics.median(t):9.1f} ({min(t):.0f}-{max(t):.0f})" for t in (fir, iir)]
        count = batch * torch.Size(neurons).numel()
        speedup = statistics.median(fir) / statistics.median(iir)
        print(f"{name:24} {steps:>5} {count:>8} {kernel.length:>4} {cells[0]:>24} {cells[1]:>24} {speedup:>7.1f}x {diff:>12.1e}")


if __name__ == "__main__":
    main()
