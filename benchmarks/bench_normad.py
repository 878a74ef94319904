"""NormAD speed on the CPU: LIF steps per second and seconds per training epoch of the three problems.

Run: ``PYTHONPATH=src python benchmarks/bench_normad.py [--epochs N] [--threads K]``.

*Steps per second* counts neuron-steps (time steps x neurons x batch) of the LIF scan alone, for the
sizes of the 3-layer problem's hidden layer at realistic firing rates. *Seconds per epoch* runs each
experiment for a few epochs (stop_when_solved off): forward simulation of every layer, the NormAD rule
(hidden layers included) and the SGD step.
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
import time

import torch

from spikegrad.rules.normad.neuron import LIFParameters, lif_scan
from spikegrad.train.normad_runs import (
    SingleConfig,
    ThreeLayerConfig,
    XORExperimentConfig,
    run_single,
    run_three_layer,
    run_xor,
)


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
    params = LIFParameters()
    spikes = lif_scan(drive, params, 0.1).spikes
    rate = spikes.sum().item() / (batch * neurons) / (steps * 0.1 / 1000.0)
    wall, cpu = _timed(lambda: lif_scan(drive, params, 0.1), 3)
    print(
        f"lif_scan T={steps} B={batch} n={neurons} ({rate:.0f} Hz): {wall * 1e3:.1f} ms wall ({cpu * 1e3:.1f} ms CPU), "
        f"{steps / wall:.3g} steps/s, {steps * batch * neurons / wall:.3g} neuron-steps/s"
    )


def bench_epochs(epochs: int) -> None:
    def quick(config, **training):
        return dataclasses.replace(
            config, training=dataclasses.replace(config.training, epochs=epochs, stop_when_solved=False, **training)
        )

    cases = [
        ("normad-single", run_single, quick(SingleConfig())),
        ("normad-xor", run_xor, quick(XORExperimentConfig())),
        ("normad-xor (output only)", run_xor, quick(XORExperimentConfig(), train_hidden=False)),
        ("normad-3layer", run_three_layer, quick(ThreeLayerConfig())),
        ("normad-3layer (output only)", run_three_layer, quick(ThreeLayerConfig(), train_hidden=False)),
    ]
    cases[0][1](cases[0][2], 0)  # warm-up: first-call costs of torch and imports
    for name, run, config in cases:
        cpu = time.process_time()
        result = run(config, 0)
        cpu_per_epoch = (time.process_time() - cpu) / len(result.correlations)
        print(f"{name}: {result.seconds_per_epoch * 1e3:.1f} ms wall ({cpu_per_epoch * 1e3:.1f} ms CPU) per epoch")


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
