"""spikegrad's SLAYER against lava-dl 0.6 (SLAYER 2.0) on the CPU: same spikes in, same loss, time per iteration.

Three workloads, each timed as forward + backward (grads to None, then a fresh forward and backward):

1. **PSP filter** ``[B=12, 2312 neurons, T=300]`` on real N-MNIST spikes: spikegrad's ``psp`` (IIR and FIR)
   against lava-dl's ``slayer.utils.filter.conv`` (SLAYER 1's ``psp``: ``Ts * sum_k eps[k] s[n-k]``, given
   0/1 spikes and ``sampling_time=1`` it computes the same numbers). Outputs and input gradients compared.
2. **Axonal delay** ``[12, 512, 300]``, one learnable delay per neuron drawn U(0, 5) ms, identical on both
   sides: spikegrad's ``axonal_delay`` against ``slayer.axon.Delay``. Outputs, input and delay gradients
   compared (both implement slayerPytorch's delay gradient).
3. **N-MNIST MLP iteration** 2312-512-512-10 with learnable delays on the hidden layers (lava-dl's N-MNIST
   tutorial network), B=12, T=300, the same real spikes in and the same loss on both sides: spike-rate MSE,
   ``sum_(b,c) (mean_t s - r)^2`` with ``r = 0.2`` for the label and ``0.03`` otherwise (lava-dl's
   ``SpikeRate``). The neurons differ: lava-dl has no SRM neuron, so its side is the tutorial's CUBA-LIF
   block (threshold 1.25, current decay 0.25, voltage decay 0.03, tau_grad 0.03, scale_grad 3, learnable
   decays, weight norm; its dropout left out), and spikegrad's side is SLAYER's SRM block (theta 10,
   tauSr 10 ms, tauRef 1 ms, IIR PSP).

Each side runs in its own subprocess: spikegrad with this interpreter, lava-dl with ``--lava-python``
(lava-dl 0.6 pins Python 3.10, torch 2.3 and numpy < 2; install it with ``--no-deps`` into a venv that
has a CPU torch). lava-dl's package imports torchvision for an unrelated object-detection subpackage;
the worker puts an empty stand-in module in ``sys.modules`` instead of installing it.

    PYTHONPATH=src python benchmarks/bench_slayer_vs_lavadl.py --lava-python /tmp/lavaenv/bin/python
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

import torch

BATCH, STEPS, HIDDEN, CLASSES = 12, 300, 512, 10
TRUE_RATE, FALSE_RATE = 0.2, 0.03
MAX_DELAY_MS = 5.0


def rate_loss(rate: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The shared loss: ``sum (rate - target)^2`` over batch and classes (rates ``[B, C]``)."""
    target = torch.full_like(rate, FALSE_RATE).scatter_(1, labels.view(-1, 1), TRUE_RATE)
    return (rate - target).square().sum()


def timed(step, iters: int) -> list[float]:
    """Milliseconds of ``iters`` calls of ``step`` after one warm-up call."""
    step()
    times = []
    for _ in range(iters):
        start = time.perf_counter()
        step()
        times.append(1e3 * (time.perf_counter() - start))
    return times


def prepare_inputs(folder: Path, data_dir: Path) -> None:
    """Real N-MNIST spikes, upstream gradients and delays, saved for both workers."""
    from spikegrad.data.events import EventBinning, EventsToSpikes
    from spikegrad.data.nmnist import NMNIST_SENSOR, nmnist_small
    from spikegrad.rules.slayer.srm import SRMParameters

    dataset = nmnist_small(data_dir, "train", EventsToSpikes(EventBinning(NMNIST_SENSOR, float(STEPS))))
    samples = [dataset[i] for i in range(BATCH)]
    generator = torch.Generator().manual_seed(0)
    torch.save({
        "spikes": torch.stack([s for s, _ in samples], dim=1).flatten(2),  # [T, B, 2312] 0/1
        "labels": torch.tensor([label for _, label in samples]),
        "psp_grad": torch.randn(STEPS, BATCH, 2 * 34 * 34, generator=generator),
        "delay_input": (torch.rand(STEPS, BATCH, HIDDEN, generator=generator) < 0.05).float(),
        "delay_grad": torch.randn(STEPS, BATCH, HIDDEN, generator=generator),
        "delays": MAX_DELAY_MS * torch.rand(HIDDEN, generator=generator),
        "eps": SRMParameters().srm_kernel.tensor(),
    }, folder / "inputs.pt")


def worker_spikegrad(inputs: dict, iters: int) -> tuple[dict, dict]:
    from spikegrad.functional.delay import axonal_delay
    from spikegrad.functional.psp import FilterMethod, psp
    from spikegrad.nn import SNNSequential
    from spikegrad.rules.slayer.layers import (
        AxonalDelay,
        SLAYERBlock,
        SRMNeuron,
        slayer_dense,
    )
    from spikegrad.rules.slayer.srm import SRMParameters

    params = SRMParameters()
    timings, outputs = {}, {}
    for method in FilterMethod:
        def run_psp(method=method):
            x = inputs["spikes"].clone().requires_grad_()
            y = psp(x, params.srm_kernel, method)
            y.backward(inputs["psp_grad"])
            return y, x.grad

        timings[f"psp_{method.value}"] = timed(run_psp, iters)
        outputs[f"psp_{method.value}"] = [t.detach().permute(1, 2, 0) for t in run_psp()]

    def run_delay():
        x, d = inputs["delay_input"].clone().requires_grad_(), inputs["delays"].clone().requires_grad_()
        y = axonal_delay(x, d, params.ts)
        y.backward(inputs["delay_grad"])
        return y, x.grad, d.grad

    timings["delay"] = timed(run_delay, iters)
    outputs["delay"] = [t.detach() for t in run_delay()]
    outputs["delay"][:2] = [t.permute(1, 2, 0) for t in outputs["delay"][:2]]

    torch.manual_seed(0)
    net = SNNSequential(
        SLAYERBlock(slayer_dense(2 * 34 * 34, HIDDEN), SRMNeuron(params), AxonalDelay((HIDDEN,), params.ts)),
        SLAYERBlock(slayer_dense(HIDDEN, HIDDEN), SRMNeuron(params), AxonalDelay((HIDDEN,), params.ts)),
        SLAYERBlock(slayer_dense(HIDDEN, CLASSES), SRMNeuron(params)),
    )

    def run_net():
        net.zero_grad(set_to_none=True)
        out, _ = net(inputs["spikes"])
        loss = rate_loss(out.mean(0), inputs["labels"])
        loss.backward()
        return loss

    timings["net"] = timed(run_net, iters)
    outputs["net_loss"] = run_net().item()
    return timings, outputs


def import_lava():
    stand_in = types.ModuleType("torchvision")  # lava's object-detection subpackage imports these names only
    stand_in.ops, stand_in.transforms = types.ModuleType("torchvision.ops"), types.ModuleType("torchvision.transforms")
    sys.modules.setdefault("torchvision", stand_in)
    import lava.lib.dl.slayer as slayer

    return slayer


def worker_lava(inputs: dict, iters: int) -> tuple[dict, dict]:
    slayer = import_lava()
    timings, outputs = {}, {}
    spikes = inputs["spikes"].permute(1, 2, 0).contiguous()  # [B, N, T], outside the timed region
    psp_grad = inputs["psp_grad"].permute(1, 2, 0).contiguous()

    def run_psp():
        x = spikes.clone().requires_grad_()
        y = slayer.utils.filter.conv(x, inputs["eps"], 1)
        y.backward(psp_grad)
        return y, x.grad

    timings["psp"] = timed(run_psp, iters)
    outputs["psp"] = [t.detach() for t in run_psp()]

    delay = slayer.axon.Delay(sampling_time=1)
    x0 = inputs["delay_input"].permute(1, 2, 0).contiguous()
    delay(x0)  # lazy initialisation of the parameter, then the shared delays
    delay.delay.data = inputs["delays"].clone()
    delay_grad = inputs["delay_grad"].permute(1, 2, 0).contiguous()

    def run_delay():
        delay.zero_grad(set_to_none=True)
        x = x0.clone().requires_grad_()
        y = delay(x)
        y.backward(delay_grad)
        return y, x.grad, delay.delay.grad

    timings["delay"] = timed(run_delay, iters)
    outputs["delay"] = [t.detach() for t in run_delay()]

    torch.manual_seed(0)
    neuron = {"threshold": 1.25, "current_decay": 0.25, "voltage_decay": 0.03, "tau_grad": 0.03, "scale_grad": 3, "requires_grad": True}
    blocks = torch.nn.ModuleList([
        slayer.block.cuba.Dense(neuron, 2 * 34 * 34, HIDDEN, weight_norm=True, delay=True),
        slayer.block.cuba.Dense(neuron, HIDDEN, HIDDEN, weight_norm=True, delay=True),
        slayer.block.cuba.Dense(neuron, HIDDEN, CLASSES, weight_norm=True),
    ])

    def run_net():
        blocks.zero_grad(set_to_none=True)
        x = spikes
        for block in blocks:
            x = block(x)
        loss = rate_loss(x.mean(-1), inputs["labels"])
        loss.backward()
        return loss

    timings["net"] = timed(run_net, iters)
    outputs["net_loss"] = run_net().item()
    return timings, outputs


def run_worker(side: str, folder: Path, iters: int, threads: int) -> None:
    torch.set_num_threads(threads)
    inputs = torch.load(folder / "inputs.pt")
    work = worker_spikegrad if side == "spikegrad" else worker_lava
    timings, outputs = work(inputs, iters)
    torch.save(outputs, folder / f"{side}_outputs.pt")
    versions = {"torch": torch.__version__}
    if side == "lava":
        from importlib.metadata import version

        versions["lava-dl"] = version("lava-dl")
    (folder / f"{side}.json").write_text(json.dumps({"timings": timings, "versions": versions, "threads": torch.get_num_threads()}))


def spawn(python: str, side: str, folder: Path, args: argparse.Namespace) -> dict:
    cmd = [python, __file__, "--_worker", side, "--_dir", str(folder), "--iters", str(args.iters), "--threads", str(args.threads)]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(__file__).resolve().parents[1] / "src"), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{side} worker failed:\n{proc.stderr[-4000:]}")
    return json.loads((folder / f"{side}.json").read_text())


def max_diff(a: torch.Tensor, b: torch.Tensor) -> str:
    return f"{(a - b).abs().max().item() / max(b.abs().max().item(), 1e-30):.1e}"


def cell(times: list[float]) -> str:
    return f"{statistics.median(times):.1f} ({min(times):.0f}-{max(times):.0f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lava-python", default="/tmp/lavaenv/bin/python", help="interpreter with lava-dl installed")
    parser.add_argument("--data-dir", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data" / "nmnist" / "NMNISTsmall")
    parser.add_argument("--iters", type=int, default=5, help="timed iterations per workload (default 5)")
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads in each worker (default 2)")
    parser.add_argument("--_worker", choices=["spikegrad", "lava"], help=argparse.SUPPRESS)
    parser.add_argument("--_dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._worker:
        run_worker(args._worker, args._dir, args.iters, args.threads)
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        prepare_inputs(folder, args.data_dir)
        ours = spawn(sys.executable, "spikegrad", folder, args)
        lava = spawn(args.lava_python, "lava", folder, args)
        mine, theirs = torch.load(folder / "spikegrad_outputs.pt"), torch.load(folder / "lava_outputs.pt")
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"spikegrad (torch {ours['versions']['torch']}) vs lava-dl {lava['versions']['lava-dl']} (torch {lava['versions']['torch']}), "
          f"{args.threads} threads, median (min-max) ms of {args.iters}, load average {load}")
    rows = [
        ("PSP filter 12x2312 T=300", "IIR", ours["timings"]["psp_iir"], lava["timings"]["psp"],
         " / ".join(max_diff(m, t) for m, t in zip(mine["psp_iir"], theirs["psp"]))),
        ("PSP filter 12x2312 T=300", "FIR", ours["timings"]["psp_fir"], lava["timings"]["psp"],
         " / ".join(max_diff(m, t) for m, t in zip(mine["psp_fir"], theirs["psp"]))),
        ("axonal delay 12x512 T=300", "", ours["timings"]["delay"], lava["timings"]["delay"],
         " / ".join(max_diff(m, t) for m, t in zip(mine["delay"], theirs["delay"]))),
        ("N-MNIST MLP iteration", "SRM vs CUBA", ours["timings"]["net"], lava["timings"]["net"],
         f"loss {mine['net_loss']:.3f} vs {theirs['net_loss']:.3f}"),
    ]
    header = f"{'workload':27} {'variant':12} {'spikegrad ms':>20} {'lava-dl ms':>22} {'lava/ours':>9}  check (max rel diff: out / grad in / grad delay)"
    print(header)
    print("-" * len(header))
    for name, variant, a, b, check in rows:
        print(f"{name:27} {variant:12} {cell(a):>20} {cell(b):>22} {statistics.median(b) / statistics.median(a):>8.1f}x  {check}")


if __name__ == "__main__":
    main()
