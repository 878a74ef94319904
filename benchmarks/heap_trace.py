"""Live memory against heap size, op by op, for spikegrad on the benchmark network (issue 14's memory target).

One training iteration of ``bench_lif_mlp_cpu.py``'s network (1024-1024-1024-20, B = 64, 5 % input, the
same weights and input) runs under a ``TorchDispatchMode`` that, after every ATen op, reads glibc's
``mallinfo2``: the bytes in use (heap blocks in use plus mmapped blocks) and the heap's size (``arena``).
Peak RSS can never be below the peak in use; with freed memory kept (``--keep-memory``, as ``spikegrad
train`` runs) it follows the heap's size instead, and the difference is fragmentation: freed blocks that
a later request of the same size could not reuse. The script prints, per iteration, both peaks, and for
the first iteration (where the heap takes its size) every op where the heap grew or the memory in use moved
by more than ``--show-mib``.

Linux/glibc only. Run from the repository root::

    python benchmarks/heap_trace.py --steps 500 --keep-memory
    python benchmarks/heap_trace.py --steps 100
"""

from __future__ import annotations

import argparse
import ctypes
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "src"))

MIB = 2**20


class MallInfo2(ctypes.Structure):
    """glibc's ``struct mallinfo2`` (<malloc.h>), fields in bytes."""

    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]


def heap_reader():
    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = MallInfo2

    def read() -> tuple[float, float]:
        """(MiB in use: heap blocks plus mmapped blocks, MiB of heap)."""
        info = libc.mallinfo2()
        return (info.uordblks + info.hblkhd) / MIB, info.arena / MIB

    return read


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=100, help="time steps T")
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument("--keep-memory", action="store_true", help="spikegrad.runtime.keep_freed_memory() first")
    parser.add_argument("--show-mib", type=float, default=40.0, help="print ops that move the memory in use by more")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)

    import torch
    from torch.utils._python_dispatch import TorchDispatchMode

    import bench_lif_mlp_cpu as bench
    from spikegrad.runtime import keep_freed_memory

    if args.keep_memory and not keep_freed_memory():
        raise SystemExit("--keep-memory needs Linux with glibc")
    torch.set_num_threads(args.threads)
    read = heap_reader()
    weights, x, labels = bench.make_workload(args.steps, 64)
    net = bench.SpikegradNet(weights)
    trace: list[tuple[str, float, float]] = []

    class Recorder(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            trace.append((str(func), *read()))
            return out

    print(f"T = {args.steps}, record [T, 64, 1024] float32 = {args.steps * 64 * 1024 * 4 / MIB:.0f} MiB, "
          f"freed memory {'kept' if args.keep_memory else 'returned (glibc default)'}")
    first: list[tuple[str, float, float]] = []
    for iteration in range(args.iterations):
        trace.clear()
        with Recorder():
            bench.iteration(net, x, labels)
        first = first or list(trace)
        print(f"iteration {iteration + 1}: peak in use {max(t[1] for t in trace):.0f} MiB, "
              f"peak heap {max(t[2] for t in trace):.0f} MiB ({len(trace)} ops)")
    print("\nfirst iteration, ops where the heap grew or the memory in use moved by more than "
          f"{args.show_mib:g} MiB:\n  op index  op  in use MiB  heap MiB")
    previous = (0.0, first[0][2])
    for index, (name, in_use, heap) in enumerate(first):
        if heap > previous[1] + 1 or abs(in_use - previous[0]) > args.show_mib:
            print(f"  {index:6d}  {name}  {in_use:.0f}  {heap:.0f}")
            previous = (in_use, heap)


if __name__ == "__main__":
    main()
