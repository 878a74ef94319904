"""NA backward cost against plain surrogate BPTT on the same network (issue 6; methods note B4.5, B10.9).

Workload: the NA MNIST network ``15C5-P2-40C5-P2-300-10`` (tau_m 5, tau_s 2, threshold 1), direct input
(MNIST test images from ``--data-dir`` when given, else random images), trace loss against random labels,
batch ``--batch`` (the poster timed batch 64). For every window length T it times one training iteration
(forward, loss, ``loss.backward()``; no optimiser step) with three backward passes of the same network:

- ``bptt``: BPTT through the LIF + trace layers with a sigmoid surrogate (alpha 5), O(T);
- ``na``: NA, faithful mode, default neighbour re-simulation (dense below T = 50, settled-skipping from 50);
- ``na-dense``: NA with every neighbour re-simulated (``T (T-1) / 2`` LIF steps per neuron);
- ``na-settled``: NA skipping the provably settled neighbours at every T (optional, ``--methods``).

Each (method, T) runs in its own subprocess with ``torch.set_num_threads(--threads)`` (default 1: on a
shared CPU two OpenMP threads spin-waiting for each other make timings meaningless). Timings are process
CPU seconds (``time.process_time``), robust to other load on the machine; wall seconds are printed too.
1 warm-up iteration, then the median over ``--iters``. The NA rows also report the share of the dense
re-simulation actually performed (settled neighbours are skipped; results are identical).

The poster's wall-clock ratios (MNIST, TITAN Xp, batch 64, seconds per epoch, read from its bar chart):
NA / STBP = 39 / 27 = 1.4x at T = 5, 342 / 108 = 3.2x at T = 20.

Run from the repository root::

    python benchmarks/bench_na_cost.py                                  # T = 5, 20, 100, batch 64
    python benchmarks/bench_na_cost.py --steps 5 20 --batch 32 --iters 5 --data-dir ../shared/data/mnist
    python benchmarks/bench_na_cost.py --json /tmp/na_cost.json

On glibc the allocator returns large freed blocks to the kernel, so every fresh activation tensor
page-faults; ``--malloc-keep`` runs the workers with ``MALLOC_MMAP_THRESHOLD_``/``MALLOC_TRIM_THRESHOLD_``
raised so that freed memory is reused (same for every method; it speeds up all of them).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
METHODS = ("bptt", "na", "na-dense", "na-settled")
POSTER = {5: 39 / 27, 10: 102 / 57, 20: 342 / 108}  # NA / STBP seconds per epoch, poster bar chart (+-10 %)
MALLOC_KEEP = {"MALLOC_MMAP_THRESHOLD_": str(10**12), "MALLOC_TRIM_THRESHOLD_": str(10**11),
               "MALLOC_TOP_PAD_": str(10**9)}


def worker(method: str, steps: int, batch: int, iters: int, threads: int, data_dir: str | None, seed: int) -> dict:
    import torch

    torch.set_num_threads(threads)
    from spikegrad.grad import Sigmoid
    from spikegrad.rules.na import (
        Faithful,
        NAParameters,
        Resimulation,
        na_forward,
        neighbour_loss_changes,
    )
    from spikegrad.rules.na.layers import NALIF
    from spikegrad.rules.na.loss import trace_loss
    from spikegrad.rules.na.nets import mnist_cnn

    params = NAParameters(5.0, 2.0, 1.0)
    gradient = Sigmoid(5.0) if method == "bptt" else Faithful()
    torch.manual_seed(seed)
    net = mnist_cnn(gradient, params)
    forced = {"na-dense": Resimulation.DENSE, "na-settled": Resimulation.SETTLED}.get(method)
    if forced is not None:
        for layer in net.modules():
            if isinstance(layer, NALIF):
                layer.resimulation = forced
    generator = torch.Generator().manual_seed(seed)
    if data_dir:
        from spikegrad.data.registry import load_split

        images = load_split("mnist", "test", data_dir).images[:batch]
        x = torch.from_numpy(images).float().div(255).unsqueeze(1)
    else:
        x = torch.rand(batch, 1, 28, 28, generator=generator)
    x = ((x - 0.1307) / 0.3081).unsqueeze(0).expand(steps, *x.shape)
    labels = torch.randint(0, 10, (batch,), generator=generator)

    def iteration() -> tuple[float, float, float, float]:
        net.zero_grad(set_to_none=True)
        c0, w0 = time.process_time(), time.perf_counter()
        out, _ = net(x)
        loss = trace_loss(out, labels, params)
        c1, w1 = time.process_time(), time.perf_counter()
        loss.backward()
        c2, w2 = time.process_time(), time.perf_counter()
        return c1 - c0, c2 - c1, w1 - w0, w2 - w1

    iteration()  # warm-up
    runs = [iteration() for _ in range(iters)]
    result = {
        "method": method, "steps": steps, "batch": batch, "threads": threads,
        "fwd_cpu": statistics.median(r[0] for r in runs), "bwd_cpu": statistics.median(r[1] for r in runs),
        "fwd_wall": statistics.median(r[2] for r in runs), "bwd_wall": statistics.median(r[3] for r in runs),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "loadavg": os.getloadavg()[0],
    }
    for layer in net.modules():  # grads finite and non-zero
        if hasattr(layer, "weight") and layer.weight is not None and layer.weight.requires_grad:
            grad = layer.weight.grad
            result.setdefault("grads_ok", True)
            result["grads_ok"] &= bool(grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0)
    if method != "bptt":  # share of the dense re-simulation actually run, measured outside the timing
        currents = []
        hooks = [m.register_forward_hook(lambda m, inp, out: currents.append(inp[0].detach()))
                 for m in net.modules() if isinstance(m, NALIF)]
        with torch.no_grad():
            net(x)
        for hook in hooks:
            hook.remove()
        simulated = dense = 0
        for current in currents:
            flat = current.reshape(steps, -1)
            fwd = na_forward(flat, params)
            changes = neighbour_loss_changes(flat, fwd.membrane, fwd.spikes, torch.ones_like(flat), params,
                                             method=forced or Resimulation.AUTO)
            simulated += changes.simulated_steps
            dense += flat.shape[1] * steps * (steps - 1) // 2
        result["resimulated_share"] = simulated / max(dense, 1)
    return result


def run_worker(args: argparse.Namespace, method: str, steps: int) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env["OMP_NUM_THREADS"] = str(args.threads)
    if args.malloc_keep:
        env.update(MALLOC_KEEP)
    iters = args.iters if steps <= 20 else max(1, args.iters // 2)
    command = [sys.executable, __file__, "--worker", method, str(steps), str(args.batch), str(iters), str(args.threads),
               args.data_dir or "", str(args.seed)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=args.timeout)
    if done.returncode != 0:
        return {"method": method, "steps": steps, "error": done.stderr.strip().splitlines()[-1] if done.stderr else "failed"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def table(results: list[dict]) -> str:
    by = {(r["method"], r["steps"]): r for r in results}
    lines = [
        "T    | BPTT fwd+bwd s | NA fwd+bwd s  | NA-dense s    | bwd NA/BPTT | step NA/BPTT | step dense/BPTT "
        "| step settled/BPTT | dense steps/neuron | NA re-sim share | poster NA/STBP | peak RSS MiB (bptt/na)",
        "-" * 190,
    ]
    for steps in sorted({r["steps"] for r in results}):
        bptt, na, dense, settled = (by.get((m, steps), {}) for m in METHODS)

        def step(r: dict) -> float:
            return r.get("fwd_cpu", float("nan")) + r.get("bwd_cpu", float("nan"))

        def cell(r: dict) -> str:
            return f"{r['fwd_cpu']:.3f}+{r['bwd_cpu']:.3f}" if "fwd_cpu" in r else r.get("error", "-")[:13]

        ratio_bwd = na.get("bwd_cpu", float("nan")) / bptt.get("bwd_cpu", float("nan"))
        lines.append(
            f"{steps:<4} | {cell(bptt):>14} | {cell(na):>13} | {cell(dense):>13} | {ratio_bwd:>11.2f} | "
            f"{step(na) / step(bptt):>12.2f} | {step(dense) / step(bptt):>15.2f} | {step(settled) / step(bptt):>17.2f} | "
            f"{steps * (steps - 1) // 2:>18} | "
            f"{na.get('resimulated_share', float('nan')):>15.1%} | "
            f"{(f'{POSTER[steps]:.1f}x' if steps in POSTER else '-'):>14} | "
            f"{bptt.get('peak_rss_mb', float('nan')):.0f}/{na.get('peak_rss_mb', float('nan')):.0f}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, nargs="+", default=[5, 20, 100])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--iters", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--methods", nargs="+", default=list(METHODS[:3]), choices=METHODS)
    parser.add_argument("--data-dir", default=None, help="MNIST folder for real input images (default: random)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--malloc-keep", action="store_true", help="keep freed memory in the process (glibc)")
    parser.add_argument("--timeout", type=int, default=3600)
    parser.add_argument("--json", default=None, help="also write all results to this file")
    parser.add_argument("--worker", nargs=7, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        method, steps, batch, iters, threads, data_dir, seed = args.worker
        print(json.dumps(worker(method, int(steps), int(batch), int(iters), int(threads), data_dir or None, int(seed))))
        return
    import torch

    print(f"# NA vs BPTT cost: torch {torch.__version__}, {os.cpu_count()} CPUs, threads {args.threads}, "
          f"batch {args.batch}, malloc-keep {args.malloc_keep}, {time.strftime('%Y-%m-%d %H:%M')}", flush=True)
    results = []
    for steps in args.steps:
        for method in args.methods:
            result = run_worker(args, method, steps)
            results.append(result)
            print(f"  T={steps:<3} {method:<8} " + (f"fwd {result['fwd_cpu']:.3f} s bwd {result['bwd_cpu']:.3f} s CPU "
                  f"(wall {result['fwd_wall']:.3f}+{result['bwd_wall']:.3f}, load {result['loadavg']:.1f}, "
                  f"grads ok {result.get('grads_ok')})" if "fwd_cpu" in result else result["error"]), flush=True)
    print()
    print(table(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
