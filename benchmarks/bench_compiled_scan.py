"""The neuron scan with its backward compiled (``--compile``, issue 14) against the reference scan, one table.

For each sequence length: the time of the reference scan (:func:`spikegrad.functional.neuron_scan`) and
of the one with the compiled backward (:mod:`spikegrad.functional.compiled_scan`), forward alone (no
gradient: the same code on both sides, a check of the timing's noise) and forward + backward, on a LIF layer of the benchmark network (``B = 64``, 1024 neurons, FastSigmoid), medians of
``torch.utils.benchmark`` (``blocked_autorange``) with ``--threads`` threads, freed memory kept
(:func:`spikegrad.runtime.keep_freed_memory`, as ``spikegrad train`` runs); and the seconds the first
compiled calls took (compilation). Spikes are checked equal and gradients close (float32 rounding
accumulated over T steps: 1e-4) before timing.

    python benchmarks/bench_compiled_scan.py --steps 100 500 --threads 2
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.utils.benchmark as benchmark

from spikegrad.functional import compiled_scan
from spikegrad.functional.neuron import LIFParameters
from spikegrad.functional.scan import neuron_scan
from spikegrad.grad import FastSigmoid
from spikegrad.runtime import keep_freed_memory

PARAMS, ESTIMATOR = LIFParameters(beta=0.9), FastSigmoid()


def forward(x: torch.Tensor, compiled: bool) -> torch.Tensor:
    with torch.no_grad():
        return neuron_scan(x, PARAMS, ESTIMATOR, compiled=compiled).spikes


def forward_backward(x: torch.Tensor, weights: torch.Tensor, compiled: bool) -> torch.Tensor:
    x = x.detach().requires_grad_()
    (neuron_scan(x, PARAMS, ESTIMATOR, compiled=compiled).spikes * weights).sum().backward()
    return x.grad


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, nargs="+", default=[100, 500])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--neurons", type=int, default=1024)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--min-run-time", type=float, default=2.0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    keep_freed_memory()
    print(f"torch {torch.__version__}, {args.threads} threads, B = {args.batch}, {args.neurons} LIF neurons, "
          f"chunk {compiled_scan.CHUNK}")
    print("| T | pass | reference ms | compiled ms | speed-up |\n|---|---|---|---|---|")
    for steps in args.steps:
        generator = torch.Generator().manual_seed(0)
        x = torch.randn(steps, args.batch, args.neurons, generator=generator) * 0.5 + 0.2
        weights = torch.randn(x.shape, generator=generator)
        started = time.perf_counter()
        assert torch.equal(forward(x, True), forward(x, False))
        torch.testing.assert_close(forward_backward(x, weights, True), forward_backward(x, weights, False),
                                   rtol=1e-3, atol=1e-4)  # float32 rounding over T steps (fused multiply-adds)
        first = time.perf_counter() - started
        for name, call in (("forward", lambda c: forward(x, c)),
                           ("forward + backward", lambda c: forward_backward(x, weights, c))):
            medians = [benchmark.Timer("call(c)", globals={"call": call, "c": c}, num_threads=args.threads)
                       .blocked_autorange(min_run_time=args.min_run_time).median * 1e3 for c in (False, True)]
            print(f"| {steps} | {name} | {medians[0]:.1f} | {medians[1]:.1f} | {medians[0] / medians[1]:.2f}x |",
                  flush=True)
        print(f"(T = {steps}: first calls incl. compilation and the parity check {first:.1f} s; "
              f"compile seconds so far {compiled_scan.compile_seconds():.1f})")


if __name__ == "__main__":
    main()
