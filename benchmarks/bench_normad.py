"""NormAD speed on the CPU: LIF steps per second and seconds per training epoch of the three problems.

Run: ``PYTHONPATH=src python benchmarks/bench_normad.py [--epochs N] [--threads K]``.

*Steps per second* counts neuron-steps (time steps x neurons x batch) of the LIF scan alone, for the
sizes of the 3-layer problem's hidden layer at realistic firing rates. *Seconds per epoch* runs each
experiment for a few epochs (stop_when_solved off): forward simulation of every layer, the NormAD rule
(hidden layers included) and the SGD step.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

import torch

from spikegrad.rules.normad.neuron import ContinuousLIFParameters, continuous_lif_scan
from spikegrad.train.runs import fit_recipe


def _timed(fn, repeats: int) -> tuple[float, float]:
    """(wall, CPU) seconds per call; on a shared machine the CPU time is the better estimate."""
    fn()  # warm-up
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - wall) / repeats, (time.process_time() - cpu) / repeats


def bench_scan(steps: int, batch: int, neurons: int, drive_mv: float) -> None:
    generator = torch.Generator().manual_seed(0)
    drive = torch.rand(steps, batch, neurons, generator=generator, dtype=torch.float64) * drive_mv
    params = ContinuousLIFParameters()
    spikes = continuous_lif_scan(drive, params, 0.1).spikes
    rate = spikes.sum().item() / (batch * neurons) / (steps * 0.1 / 1000.0)
    wall, cpu = _timed(lambda: continuous_lif_scan(drive, params, 0.1), 3)
    print(
        f"continuous_lif_scan T={steps} B={batch} n={neurons} ({rate:.0f} Hz): {wall * 1e3:.1f} ms wall ({cpu * 1e3:.1f} ms CPU), "
        f"{steps / wall:.3g} steps/s, {steps * batch * neurons / wall:.3g} neuron-steps/s"
    )


def bench_epochs(epochs: int) -> None:
    """Seconds per training epoch of the recipes through the trainer (seed 0; stops early once solved)."""
    cases = [
        ("normad-single", "normad-single", {}),
        ("normad-xor", "normad-xor", {}),
        ("normad-xor (output only)", "normad-xor", {"train_hidden": False}),
        ("normad-3layer", "normad-3layer", {}),
        ("normad-3layer (output only)", "normad-3layer", {"train_hidden": False}),
    ]
    with tempfile.TemporaryDirectory() as folder:
        fit_recipe("normad-single", {"epochs": 2}, Path(folder) / "warm-up")  # first-call costs of torch and imports
        for index, (name, recipe, settings) in enumerate(cases):
            summary, rows = fit_recipe(recipe, {"epochs": epochs, **settings}, Path(folder) / str(index))
            print(f"{name}: {summary['seconds_per_epoch'] * 1e3:.1f} ms per epoch ({len(rows)} epochs)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"# {platform.processor() or platform.machine()}, torch {torch.__version__}, {args.threads} thread(s)")
    for batch, neurons, drive in ((1, 1, 3.0), (1, 50, 2.0), (4, 100, 5.0)):
        bench_scan(5000, batch, neurons, drive)
    bench_epochs(args.epochs)


if __name__ == "__main__":
    main()
