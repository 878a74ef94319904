"""CPU benchmark: 3-layer Linear+LIF network, spikegrad against snnTorch and SpikingJelly (issue 2).

Workload (the one in ``shared/docs/anchor-benchmarks.md``)::

    x [T, B, 1024] random 0/1 spikes, density 5 % (--densities for others)
    Linear(1024, 1024, no bias) -> LIF -> Linear(1024, 1024) -> LIF -> Linear(1024, 20)
    logits = readout summed over time; loss = cross_entropy(logits, random labels)

LIF: beta = 0.95, threshold 1, reset by subtraction, reset detached where the library lets you choose.
Surrogate: fast sigmoid, slope 25 (spikegrad, snnTorch); SpikingJelly's fused CPU op takes only its
built-in surrogates, so it runs ``ATan()`` as in the anchor measurements. Every library gets the same
weights (W1, W2 ~ N(0, (2/sqrt(1024))^2), W3 ~ N(0, 1/1024), biases ~ U(-1/32, 1/32)), input and labels,
all drawn from one seed in each process.

One iteration = grads to None, state reset, forward, loss, ``loss.backward()`` (no optimizer step).
Each (library, size) runs in its own subprocess (so peak RSS from ``resource.getrusage`` is per run):
1 warm-up iteration (also used for the checks), then the median of N timed iterations. Checks on every
run: grads of W1, W2, W3 finite and non-zero; hidden spike rates; relative difference of the logits
against spikegrad's.

Second table: spikegrad's forward and backward timed separately for T in (50, 100, 200, 400); backward
time per step stays flat (O(T)). For contrast, a plain-autograd layer-wise loop that indexes ``I[t]``
on a grad-requiring sequence (O(T^2) backward: every step's ``select_backward`` builds a full
``[T, B, N]`` zero tensor) at small T only.

Run from the repository root::

    python benchmarks/bench_lif_mlp_cpu.py                    # both tables
    python benchmarks/bench_lif_mlp_cpu.py --rounds 2         # every (library, size) run twice
    python benchmarks/bench_lif_mlp_cpu.py --skip-linearity --sizes 100 --iters 5
    python benchmarks/bench_lif_mlp_cpu.py --keep-memory    # every library with freed memory kept (as `spikegrad train`)
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIBRARIES = ("spikegrad", "spikegrad-dense", "snntorch", "spikingjelly", "norse", "gemm-floor")
EXTRA_LIBRARIES = ("snntorch-nodelay",)  # optional: snnTorch with reset_delay=False
N_IN, N_HIDDEN, N_OUT = 1024, 1024, 20
BETA, THRESHOLD, SLOPE, DENSITY = 0.95, 1.0, 25.0, 0.05
SEED = 1234


# --------------------------------------------------------------------------------------------------
# Shared workload: weights, input, labels (identical in every process)
# --------------------------------------------------------------------------------------------------


def make_workload(steps: int, batch: int, seed: int = SEED, density: float = DENSITY):
    import torch

    gen = torch.Generator().manual_seed(seed)
    bound = 1.0 / math.sqrt(N_IN)
    weights = {
        "w1": torch.randn(N_HIDDEN, N_IN, generator=gen) * (2.0 / math.sqrt(N_IN)),
        "w2": torch.randn(N_HIDDEN, N_HIDDEN, generator=gen) * (2.0 / math.sqrt(N_HIDDEN)),
        "b2": (torch.rand(N_HIDDEN, generator=gen) * 2 - 1) * bound,
        "w3": torch.randn(N_OUT, N_HIDDEN, generator=gen) / math.sqrt(N_HIDDEN),
        "b3": (torch.rand(N_OUT, generator=gen) * 2 - 1) * bound,
    }
    x = (torch.rand(steps, batch, N_IN, generator=gen) < density).float()
    labels = torch.randint(0, N_OUT, (batch,), generator=gen)
    return weights, x, labels


def load_linears(linears, weights) -> None:
    """Copy W1 (no bias), W2/b2, W3/b3 into three ``nn.Linear``-like modules."""
    import torch

    with torch.no_grad():
        linears[0].weight.copy_(weights["w1"])
        linears[1].weight.copy_(weights["w2"])
        linears[1].bias.copy_(weights["b2"])
        linears[2].weight.copy_(weights["w3"])
        linears[2].bias.copy_(weights["b3"])


def import_spikegrad():
    try:
        import spikegrad  # noqa: F401
    except ModuleNotFoundError:  # not installed: use the checkout's src/
        sys.path.insert(0, str(ROOT / "src"))
    import spikegrad

    return spikegrad


# --------------------------------------------------------------------------------------------------
# One network per library. ``run(x, record)`` returns (logits, hidden spike rates or None).
# --------------------------------------------------------------------------------------------------


class SpikegradNet:
    """spikegrad: Dense folds T into one product, event-driven for sparse inputs (``synapse_mode="auto"``, the
    default) or always dense (``spikegrad-dense``); LIF is the multi-step scan with a hand-written backward."""

    def __init__(self, weights, synapse_mode="auto"):
        import_spikegrad()
        from spikegrad.functional import LIFParameters, Reset
        from spikegrad.grad.surrogates import FastSigmoid
        from spikegrad.nn import Dense, SNNSequential, SpikingNeuron

        params = LIFParameters.from_beta(BETA, threshold=THRESHOLD, reset=Reset.SUBTRACT, detach_reset=True)
        self.net = SNNSequential(
            Dense(N_IN, N_HIDDEN, bias=False, synapse_mode=synapse_mode),
            SpikingNeuron(params, FastSigmoid(SLOPE)),
            Dense(N_HIDDEN, N_HIDDEN, synapse_mode=synapse_mode),
            SpikingNeuron(params, FastSigmoid(SLOPE)),
            Dense(N_HIDDEN, N_OUT, synapse_mode=synapse_mode),
        )
        load_linears([self.net[0], self.net[2], self.net[4]], weights)
        self.linears = [self.net[0], self.net[2], self.net[4]]

    def run(self, x, record=False):
        if record:
            hidden = self.net.stateful_outputs(x)
            rates = [float(s.mean()) for s in hidden]
        out, _ = self.net(x)  # state=None: every neuron starts from zero (the state reset)
        return out.sum(0), (rates if record else None)


class SnntorchNet:
    """snnTorch 1.0.0: ``snntorch.Leaky``, the whole network stepped once per time step.

    Neither of its two reset modes is exactly spikegrad's (and SpikingJelly's) recursion
    ``h_t = beta (h_{t-1} - theta s_{t-1}) + x_t``, so its logits differ by ~5-20 % (a plain-torch
    emulation of each mode matches snnTorch to 1e-7, so this is the model, not the harness):

    - default ``reset_delay=True`` (used here, detached reset as in the anchor measurements): the spike's
      theta is subtracted at the *next* charge, undecayed: ``h_t = beta h_{t-1} + x_t - theta s_{t-1}``;
    - ``reset_delay=False`` (``snntorch-nodelay``): the reset happens in the spiking step, but a membrane
      still above theta after its reset must exceed 2 theta to spike again, and the gradient flows
      through the reset (not detachable).
    """

    def __init__(self, weights, reset_delay=True):
        import snntorch
        import torch
        from snntorch import surrogate

        grad = surrogate.fast_sigmoid(slope=SLOPE)
        self.fc1 = torch.nn.Linear(N_IN, N_HIDDEN, bias=False)
        self.fc2 = torch.nn.Linear(N_HIDDEN, N_HIDDEN)
        self.fc3 = torch.nn.Linear(N_HIDDEN, N_OUT)
        options = dict(beta=BETA, threshold=THRESHOLD, spike_grad=grad, reset_mechanism="subtract", reset_delay=reset_delay)
        self.lif1 = snntorch.Leaky(**options)
        self.lif2 = snntorch.Leaky(**options)
        self.linears = [self.fc1, self.fc2, self.fc3]
        load_linears(self.linears, weights)

    def run(self, x, record=False):
        mem1, mem2 = self.lif1.reset_mem(), self.lif2.reset_mem()
        logits = 0
        counts = [0.0, 0.0]
        for x_t in x:
            spk1, mem1 = self.lif1(self.fc1(x_t), mem1)
            spk2, mem2 = self.lif2(self.fc2(spk1), mem2)
            logits = logits + self.fc3(spk2)
            if record:
                counts[0] += float(spk1.sum())
                counts[1] += float(spk2.sum())
        rates = [c / (x.shape[0] * x.shape[1] * N_HIDDEN) for c in counts] if record else None
        return logits, rates


def import_spikingjelly():
    """Import SpikingJelly; if it asks for torchvision (absent here), give it an empty stub package."""
    try:
        from spikingjelly.activation_based import functional, layer, neuron, surrogate
    except ModuleNotFoundError as err:
        if err.name is None or not err.name.startswith("torchvision"):
            raise
        stub = Path(tempfile.mkdtemp(prefix="tv_stub_")) / "torchvision"
        stub.mkdir()
        (stub / "__init__.py").write_text("")
        sys.path.insert(0, str(stub.parent))
        for name in [m for m in sys.modules if m.startswith("spikingjelly")]:
            del sys.modules[name]
        from spikingjelly.activation_based import functional, layer, neuron, surrogate
    return functional, layer, neuron, surrogate


class SpikingJellyNet:
    """SpikingJelly 2.0.0 CPU path: multi-step ``LIFNode`` (custom op: loop forward, hand-written backward)."""

    def __init__(self, weights):
        import torch

        functional, layer, neuron, surrogate = import_spikingjelly()
        self.functional = functional

        def lif():
            # decay_input=False: H = V - V/tau + X = 0.95 V + X at tau = 20; v_reset=None: soft reset.
            return neuron.LIFNode(
                tau=1.0 / (1.0 - BETA),
                decay_input=False,
                v_threshold=THRESHOLD,
                v_reset=None,
                surrogate_function=surrogate.ATan(),
                detach_reset=True,
                step_mode="m",
            )

        self.net = torch.nn.Sequential(
            layer.Linear(N_IN, N_HIDDEN, bias=False, step_mode="m"),
            lif(),
            layer.Linear(N_HIDDEN, N_HIDDEN, step_mode="m"),
            lif(),
            layer.Linear(N_HIDDEN, N_OUT, step_mode="m"),
        )
        self.linears = [self.net[0], self.net[2], self.net[4]]
        load_linears(self.linears, weights)

    def run(self, x, record=False):
        self.functional.reset_net(self.net)
        if not record:
            return self.net(x).sum(0), None
        rates, h = [], x
        for module in self.net:
            h = module(h)
            if module is self.net[1] or module is self.net[3]:
                rates.append(float(h.mean()))
        return h.sum(0), rates


class NorseNet:
    """Norse 1.1.0: ``LIFBoxCell`` (LIF without synaptic current) stepped over time, layer by layer (each
    Linear folds T into one GEMM, as spikegrad's and SpikingJelly's multi-step layers do).

    Norse integrates ``v <- v + dt * tau_mem_inv * (v_leak - v + i)``; with dt = 1 ms and tau_mem_inv = 50/s
    that is ``v <- 0.95 v + 0.05 i``, so the synaptic weights are scaled by 20 to give spikegrad's
    ``0.95 v + x``. Norse resets to ``v_reset = 0`` (no subtractive reset) and its reset is not detached, so
    its logits differ; the work per step is the same kind (a few elementwise ops, autograd per step).
    """

    def __init__(self, weights):
        import torch
        from norse.torch import LIFBoxCell, LIFBoxParameters

        params = LIFBoxParameters(tau_mem_inv=torch.tensor((1.0 - BETA) / 1e-3),  # dt = 1 ms (LIFBoxCell's default)
                                  v_th=torch.tensor(THRESHOLD), alpha=torch.tensor(SLOPE), method="super")
        self.cells = [LIFBoxCell(params), LIFBoxCell(params)]
        self.linears = [torch.nn.Linear(N_IN, N_HIDDEN, bias=False), torch.nn.Linear(N_HIDDEN, N_HIDDEN),
                        torch.nn.Linear(N_HIDDEN, N_OUT)]
        scaled = dict(weights)
        for key in ("w1", "w2", "b2"):
            scaled[key] = weights[key] / (1.0 - BETA)
        load_linears(self.linears, scaled)

    def run(self, x, record=False):
        import torch

        h, rates = x, []
        for linear, cell in zip(self.linears, self.cells):
            current, state, spikes = linear(h), None, []
            for current_t in current:
                spike_t, state = cell(current_t, state)
                spikes.append(spike_t)
            h = torch.stack(spikes)
            if record:
                rates.append(float(h.mean()))
        return self.linears[2](h).sum(0), (rates if record else None)


class GemmFloorNet:
    """The benchmark iteration's dense matrix products alone: the three Linear layers without neurons.

    Forward: three products ``[T*B, in] x [in, out]``; backward: every weight gradient and the input
    gradients of layers 2 and 3 (as in the spiking network): the floor of any implementation that
    multiplies spikes densely.
    """

    def __init__(self, weights):
        import torch

        self.linears = [torch.nn.Linear(N_IN, N_HIDDEN, bias=False), torch.nn.Linear(N_HIDDEN, N_HIDDEN),
                        torch.nn.Linear(N_HIDDEN, N_OUT)]
        load_linears(self.linears, weights)

    def run(self, x, record=False):
        h = x
        for linear in self.linears:
            h = linear(h)
        return h.sum(0), ([float("nan"), float("nan")] if record else None)


NETS = {
    "spikegrad": SpikegradNet,
    "spikegrad-dense": lambda weights: SpikegradNet(weights, synapse_mode="dense"),
    "norse": NorseNet,
    "gemm-floor": GemmFloorNet,
    "snntorch": SnntorchNet,
    "snntorch-nodelay": lambda weights: SnntorchNet(weights, reset_delay=False),
    "spikingjelly": SpikingJellyNet,
}


def library_version(name: str) -> str:
    from importlib.metadata import version

    if name == "spikegrad":
        return "checkout (synapse_mode auto)"
    if name == "spikegrad-dense":
        return "checkout (synapse_mode dense)"
    if name == "gemm-floor":
        return "(torch " + version("torch") + ")"
    if name in ("spikingjelly", "norse"):
        return version(name)
    import snntorch

    return snntorch.__version__ + (" reset_delay=False" if name == "snntorch-nodelay" else "")


# --------------------------------------------------------------------------------------------------
# Worker: one (library, size) in this process
# --------------------------------------------------------------------------------------------------


def grad_norms(linears) -> list[float]:
    return [float(m.weight.grad.norm()) if m.weight.grad is not None else float("nan") for m in linears]


def iteration(net, x, labels, record=False):
    """One timed unit: grads to None, state reset (inside ``run``), forward, loss, backward."""
    import torch.nn.functional as F

    for m in net.linears:
        for p in m.parameters():
            p.grad = None
    logits, rates = net.run(x, record)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    return logits.detach(), rates, float(loss.detach())


def worker_compare(args) -> dict:
    import torch

    torch.set_num_threads(args.threads)
    weights, x, labels = make_workload(args.steps, args.batch, density=args.density)
    net = NETS[args.library](weights)

    # Warm-up iteration; its logits, rates and grads are the checks.
    logits, _, loss = iteration(net, x, labels)
    norms = grad_norms(net.linears)
    _, rates, _ = iteration(net, x, labels, record=True) if args.rates else (None, None, None)
    times, cpu_times, grads_ok = [], [], all(math.isfinite(n) and n > 0 for n in norms)
    load_before = os.getloadavg()[0]
    for _ in range(args.iters):
        start, cpu_start = time.perf_counter(), time.process_time()
        iteration(net, x, labels)
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu_start)
        grads_ok = grads_ok and all(math.isfinite(n) and n > 0 for n in grad_norms(net.linears))
    torch.save(logits, args.logits_out)
    return {
        "library": args.library,
        "version": library_version(args.library),
        "batch": args.batch,
        "steps": args.steps,
        "density": args.density,
        "threads": torch.get_num_threads(),
        "times_ms": [1e3 * t for t in times],
        "cpu_ms": [1e3 * t for t in cpu_times],
        "loadavg_1min": [load_before, os.getloadavg()[0]],
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "grad_norms": norms,
        "grads_ok": grads_ok,
        "loss": loss,
        "rates": rates,
    }


# --------------------------------------------------------------------------------------------------
# Worker: forward/backward split over T (spikegrad scan vs naive layer-wise autograd loop)
# --------------------------------------------------------------------------------------------------


class NaiveLayerwiseNet:
    """Plain autograd, layer by layer, looping ``I[t]`` over a grad-requiring sequence (the O(T^2) trap)."""

    def __init__(self, weights):
        import_spikegrad()
        import torch

        from spikegrad.functional import spike
        from spikegrad.grad.surrogates import FastSigmoid

        self.spike, self.estimator = spike, FastSigmoid(SLOPE)
        self.linears = [
            torch.nn.Linear(N_IN, N_HIDDEN, bias=False),
            torch.nn.Linear(N_HIDDEN, N_HIDDEN),
            torch.nn.Linear(N_HIDDEN, N_OUT),
        ]
        load_linears(self.linears, weights)

    def lif(self, current):
        import torch

        v = torch.zeros_like(current[0])
        spikes = []
        for t in range(current.shape[0]):
            h = BETA * v + current[t]
            s = self.spike(h - THRESHOLD, self.estimator)
            v = h - THRESHOLD * s.detach()
            spikes.append(s)
        return torch.stack(spikes)

    def run(self, x, record=False):
        s1 = self.lif(self.linears[0](x))
        s2 = self.lif(self.linears[1](s1))
        return self.linears[2](s2).sum(0), None


def worker_linearity(args) -> dict:
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(args.threads)
    rows = []
    for variant, steps_list in (("spikegrad", args.linear_steps), ("naive I[t] loop", args.naive_steps)):
        for steps in steps_list:
            weights, x, labels = make_workload(steps, args.linear_batch)
            net = SpikegradNet(weights) if variant == "spikegrad" else NaiveLayerwiseNet(weights)
            fwd, bwd = [], []
            for i in range(1 + args.linear_iters):
                for m in net.linears:
                    for p in m.parameters():
                        p.grad = None
                t0 = time.perf_counter()
                logits, _ = net.run(x)
                loss = F.cross_entropy(logits, labels)
                t1 = time.perf_counter()
                loss.backward()
                t2 = time.perf_counter()
                if i > 0:  # i == 0 is the warm-up
                    fwd.append(1e3 * (t1 - t0))
                    bwd.append(1e3 * (t2 - t1))
            ok = all(math.isfinite(n) and n > 0 for n in grad_norms(net.linears))
            rows.append({"variant": variant, "steps": steps, "fwd_ms": fwd, "bwd_ms": bwd, "grads_ok": ok})
            del net, x
    return {"batch": args.linear_batch, "threads": torch.get_num_threads(), "rows": rows}


# --------------------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------------------


def cpu_busy_fraction(interval: float = 1.0) -> float:
    """Fraction of all CPUs' time spent busy over ``interval`` seconds (from /proc/stat; NaN elsewhere)."""

    def sample():
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return sum(fields), fields[3] + fields[4]  # total, idle + iowait

    try:
        total0, idle0 = sample()
        time.sleep(interval)
        total1, idle1 = sample()
    except OSError:
        return float("nan")
    return 1.0 - (idle1 - idle0) / max(1, total1 - total0)


def wait_until_quiet(threshold: float | None, timeout: float) -> float:
    """On a shared machine: wait (up to ``timeout`` s) until other processes leave the CPUs mostly idle."""
    busy = cpu_busy_fraction()
    if threshold is None:
        return busy
    deadline = time.monotonic() + timeout
    while busy > threshold and time.monotonic() < deadline:
        time.sleep(4.0)
        busy = cpu_busy_fraction()
    return busy


def spawn(extra: list[str], threads: int, keep_memory: bool = False) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    if keep_memory:
        extra = extra + ["--_keep-memory"]
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        out = f.name
    cmd = [sys.executable, str(Path(__file__).resolve()), "--_worker", "--_json-out", out, "--threads", str(threads)]
    proc = subprocess.run(cmd + extra, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise RuntimeError(f"worker failed: {' '.join(extra)}")
    result = json.loads(Path(out).read_text())
    os.unlink(out)
    return result


def median_min_max(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} ({min(values):.1f}-{max(values):.1f})"


def run_comparison(args, save=lambda results: None) -> list[dict]:
    import torch

    tmp = Path(tempfile.mkdtemp(prefix="bench_lif_mlp_"))
    results: list[dict] = []
    cases = [(round_index, density, steps) for round_index in range(args.rounds)
             for density in args.densities for steps in args.sizes]
    for round_index, density, steps in cases:
        iters = args.iters if args.iters else (5 if steps <= 100 else 3)
        for library in args.libraries:  # spikegrad first: the others' logits are compared to it
            case = f"{steps}_{density}_{round_index}"
            logits_path = tmp / f"{library}_{case}.pt"
            busy = wait_until_quiet(args.quiet_below, args.quiet_timeout)
            r = spawn(
                [
                    "--_library", library, "--_steps", str(steps), "--_batch", str(args.batch),
                    "--_iters", str(iters), "--_logits-out", str(logits_path), "--_density", str(density),
                ] + (["--_rates"] if args.rates else []),
                args.threads,
                args.keep_memory,
            )
            r["round"] = round_index
            r["cpu_busy_before"] = busy
            ref_path = tmp / f"spikegrad_{case}.pt"
            if ref_path.exists():
                ref, got = torch.load(ref_path), torch.load(logits_path)
                r["logits_rel_diff"] = float((got - ref).norm() / ref.norm())
            results.append(r)
            save(results)  # keep what has been measured if the run is cut short
            rates = "" if r["rates"] is None else " rates " + "/".join(f"{100 * q:.2f}%" for q in r["rates"])
            print(
                f"  round {round_index + 1} {library:>15} B={args.batch} T={steps} density {density:.0%}: "
                f"{median_min_max(r['times_ms'])} ms (cpu {statistics.median(r['cpu_ms']):.0f} ms, "
                f"busy before {100 * busy:.0f}%, load {r['loadavg_1min'][0]:.1f}/{r['loadavg_1min'][1]:.1f}), peak RSS {r['peak_rss_mib']:.0f} MiB, "
                f"grads {'ok' if r['grads_ok'] else 'BAD'}{rates}, "
                f"logits rel diff vs spikegrad {r.get('logits_rel_diff', float('nan')):.2e}",
                flush=True,
            )
    return results


def comparison_table(results: list[dict], libraries: list[str], sizes: list[int]) -> str:
    lines = [
        ("| library | density | B | T | median ms (min-max) | n | peak RSS MiB | ratio to spikegrad | CPU ms "
         "| logits rel. diff | grads |"),
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    densities = sorted({r.get("density", DENSITY) for r in results})
    for density, steps in [(d, t) for d in densities for t in sizes]:
        # Per (library, density, size): median of the per-round medians; min/max over every timed iteration.
        def runs_of(library, steps=steps, density=density):
            return [r for r in results if r["library"] == library and r["steps"] == steps
                    and r.get("density", DENSITY) == density]

        medians = {}
        for library in libraries:
            runs = runs_of(library)
            if runs:
                medians[library] = statistics.median(statistics.median(r["times_ms"]) for r in runs)
        for library in libraries:
            runs = runs_of(library)
            if not runs:
                continue
            times = [t for r in runs for t in r["times_ms"]]
            ratio = medians[library] / medians["spikegrad"] if "spikegrad" in medians else float("nan")
            diffs = [r["logits_rel_diff"] for r in runs if "logits_rel_diff" in r]
            diff = f"{max(diffs):.1e}" if diffs else "(ref)"
            lines.append(
                f"| {library} {runs[0]['version']} | {density:.0%} | {runs[0]['batch']} | {steps} | "
                f"{medians[library]:.1f} ({min(times):.1f}-{max(times):.1f}) | "
                f"{len(runs)}x{len(runs[0]['times_ms'])} | "
                f"{statistics.median(r['peak_rss_mib'] for r in runs):.0f} | {ratio:.2f} | "
                f"{statistics.median(statistics.median(r['cpu_ms']) for r in runs):.0f} | {diff} | "
                f"{'ok' if all(r['grads_ok'] for r in runs) else 'BAD'} |"
            )
    return "\n".join(lines)


def linearity_table(result: dict) -> str:
    lines = [
        f"B={result['batch']}, torch threads={result['threads']}; median of the timed iterations",
        "",
        "| variant | T | forward ms | backward ms | forward ms/step | backward ms/step | grads |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in result["rows"]:
        fwd, bwd = statistics.median(row["fwd_ms"]), statistics.median(row["bwd_ms"])
        lines.append(
            f"| {row['variant']} | {row['steps']} | {fwd:.1f} | {bwd:.1f} | {fwd / row['steps']:.3f} | "
            f"{bwd / row['steps']:.3f} | {'ok' if row['grads_ok'] else 'BAD'} |"
        )
    return "\n".join(lines)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--libraries", nargs="+", default=list(LIBRARIES), choices=LIBRARIES + EXTRA_LIBRARIES)
    p.add_argument("--sizes", nargs="+", type=int, default=[100, 500], help="values of T (default 100 500)")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--densities", nargs="+", type=float, default=[DENSITY], help="input spike densities (default 0.05)")
    p.add_argument("--iters", type=int, default=0, help="timed iterations (default 5 at T<=100, else 3)")
    p.add_argument("--rounds", type=int, default=1, help="run every (library, size) subprocess this many times")
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    p.add_argument("--rates", action="store_true", help="one extra recorded iteration for hidden spike rates")
    p.add_argument("--skip-comparison", action="store_true")
    p.add_argument("--skip-linearity", action="store_true")
    p.add_argument("--linear-batch", type=int, default=32)
    p.add_argument("--linear-steps", nargs="+", type=int, default=[50, 100, 200, 400])
    p.add_argument("--naive-steps", nargs="+", type=int, default=[50, 100, 200])
    p.add_argument("--linear-iters", type=int, default=3)
    p.add_argument(
        "--quiet-below", type=float, default=None, metavar="FRACTION",
        help="shared machine: before each run wait until the CPUs are less than FRACTION busy (e.g. 0.15)",
    )
    p.add_argument("--quiet-timeout", type=float, default=900.0, help="longest wait for --quiet-below (s)")
    p.add_argument(
        "--report", nargs="+", type=Path, metavar="JSON",
        help="run nothing: print the tables pooled from earlier --json files (medians of the per-run medians)",
    )
    p.add_argument("--json", type=Path, help="also write every raw result to this JSON file")
    p.add_argument(
        "--keep-memory", action="store_true",
        help="every worker (all libraries) first calls spikegrad.runtime.keep_freed_memory(), as `spikegrad train` does",
    )
    # Internal: worker mode.
    p.add_argument("--_worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--_json-out", help=argparse.SUPPRESS)
    p.add_argument("--_library", help=argparse.SUPPRESS)
    p.add_argument("--_steps", type=int, help=argparse.SUPPRESS)
    p.add_argument("--_density", type=float, default=DENSITY, help=argparse.SUPPRESS)
    p.add_argument("--_batch", type=int, help=argparse.SUPPRESS)
    p.add_argument("--_iters", type=int, help=argparse.SUPPRESS)
    p.add_argument("--_logits-out", help=argparse.SUPPRESS)
    p.add_argument("--_rates", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--_linearity", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--_keep-memory", action="store_true", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    if args._worker:
        if args._keep_memory:
            import_spikegrad()
            from spikegrad.runtime import keep_freed_memory

            keep_freed_memory()
        if args._linearity:
            result = worker_linearity(args)
        else:
            ns = argparse.Namespace(
                library=args._library, steps=args._steps, batch=args._batch, iters=args._iters, density=args._density,
                logits_out=args._logits_out, rates=args._rates, threads=args.threads,
            )
            result = worker_compare(ns)
        Path(args._json_out).write_text(json.dumps(result))
        return

    import platform

    import torch

    libraries = ["spikegrad"] + [lib for lib in args.libraries if lib != "spikegrad"]
    args.libraries = libraries
    if args.report:
        runs = [json.loads(path.read_text()) for path in args.report]
        comparison = [r for run in runs for r in run.get("comparison", [])]
        if comparison:
            present = [lib for lib in LIBRARIES + EXTRA_LIBRARIES if any(r["library"] == lib for r in comparison)]
            sizes = sorted({r["steps"] for r in comparison})
            print(comparison_table(comparison, present, sizes))
        for run in runs:
            if "linearity" in run:
                print("\n" + linearity_table(run["linearity"]))
        return
    print(f"python {platform.python_version()}, torch {torch.__version__}, nproc {os.cpu_count()}, threads {args.threads}")
    raw: dict = {"argv": sys.argv[1:]}
    if not args.skip_comparison:
        print(f"\nForward+backward of the 3-layer Linear+LIF net, B={args.batch}, T in {args.sizes}")
        def save(results):
            if args.json:
                args.json.write_text(json.dumps(dict(raw, comparison=results), indent=1))

        raw["comparison"] = run_comparison(args, save)
        print("\n" + comparison_table(raw["comparison"], libraries, args.sizes))
        print("ratio = library median / spikegrad median (> 1: slower than spikegrad); "
              "CPU ms = process CPU time per iteration (all threads)")
    if not args.skip_linearity:
        print("\nForward and backward separately: spikegrad scan vs naive layer-wise I[t] loop")
        extra = ["--_linearity", "--linear-batch", str(args.linear_batch), "--linear-iters", str(args.linear_iters)]
        extra += ["--linear-steps", *map(str, args.linear_steps), "--naive-steps", *map(str, args.naive_steps)]
        wait_until_quiet(args.quiet_below, args.quiet_timeout)
        raw["linearity"] = spawn(extra, args.threads, args.keep_memory)
        print("\n" + linearity_table(raw["linearity"]))
    if args.json:
        args.json.write_text(json.dumps(raw, indent=1))


if __name__ == "__main__":
    main()
