"""Is an event-driven convolution faster than the dense one on the CPU? (issue 14: measured, not kept)

The exact event formulation tried: every active input ``x[n, c, y, x]`` adds its kernel slice
``W[:, c, ky, kx]`` into output ``(n, y + p - ky, x + p - kx)`` for every kernel offset; written as one
``embedding_bag`` whose bags are the output positions and whose rows are the ``C*k*k`` kernel slices
(``[C*k*k, C_out]``), after sorting the ``nnz * k^2`` (output, slice) pairs by output. It is compared with
``F.conv2d`` (oneDNN) on the shapes of the first convolutions of the N-MNIST (SLAYER), MNIST LeNet (Lee)
networks at their input densities, forward only: if the forward is slower, the backward (two more gathers
of the same kind) cannot make up for it.

Run from the repository root::

    python benchmarks/bench_event_conv.py
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F
from torch.utils import benchmark

# (network layer, C_in, C_out, H = W, kernel, padding, N = T * B rows, density)
CASES = [
    ("slayer-nmnist conv1 (2 % events)", 2, 12, 34, 5, 0, 1200, 0.02),
    ("slayer-nmnist conv1 (1 % events)", 2, 12, 34, 5, 0, 1200, 0.01),
    ("slayer-nmnist conv2 (5 % spikes)", 12, 64, 15, 5, 0, 1200, 0.05),
    ("lee-mnist conv1 (13 % Poisson)", 1, 20, 28, 5, 0, 3200, 0.13),
    ("lee-mnist conv2 (10 % spikes)", 20, 50, 12, 5, 0, 3200, 0.10),
]


def event_conv2d(x: torch.Tensor, weight: torch.Tensor, padding: int = 0) -> torch.Tensor:
    """``F.conv2d(x, weight, padding=padding)`` (stride 1) as a sum of kernel slices over the active inputs."""
    n, c, h, w = x.shape
    c_out, _, k, _ = weight.shape
    h_out, w_out = h + 2 * padding - k + 1, w + 2 * padding - k + 1
    active = x.nonzero()  # [nnz, 4]: n, c, y, x
    ky, kx = (g.reshape(-1) for g in torch.meshgrid(torch.arange(k), torch.arange(k), indexing="ij"))
    oy, ox = active[:, 2:3] + padding - ky, active[:, 3:4] + padding - kx  # [nnz, k*k]
    valid = (oy >= 0) & (oy < h_out) & (ox >= 0) & (ox < w_out)
    bag = ((active[:, 0:1] * h_out + oy) * w_out + ox)[valid]
    row = ((active[:, 1:2] * k + ky) * k + kx)[valid]
    values = x[active[:, 0], active[:, 1], active[:, 2], active[:, 3]].unsqueeze(1).expand_as(valid)[valid]
    order = torch.argsort(bag)
    bag, row, values = bag[order], row[order], values[order]
    offsets = torch.searchsorted(bag, torch.arange(n * h_out * w_out))
    table = weight.permute(1, 2, 3, 0).reshape(c * k * k, c_out).contiguous()
    out = F.embedding_bag(row, table, offsets, mode="sum", per_sample_weights=values)
    return out.reshape(n, h_out, w_out, c_out).permute(0, 3, 1, 2)


def median_ms(fn, min_run_time: float) -> float:
    timer = benchmark.Timer("fn()", globals={"fn": fn}, num_threads=torch.get_num_threads())  # default: 1 thread
    return timer.blocked_autorange(min_run_time=min_run_time).median * 1e3


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--min-time", type=float, default=1.0)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; forward only")
    print("| layer | input [N, C, H, W] | kernel | dense conv2d ms | event ms | event / dense speed | max abs diff |")
    print("|---|---|---|---|---|---|---|")
    for name, c_in, c_out, size, k, pad, n, density in CASES:
        x = (torch.rand(n, c_in, size, size, generator=gen) < density).float()
        weight = torch.randn(c_out, c_in, k, k, generator=gen)
        diff = float((event_conv2d(x, weight, pad) - F.conv2d(x, weight, padding=pad)).abs().max())
        dense = median_ms(lambda x=x, weight=weight, pad=pad: F.conv2d(x, weight, padding=pad), args.min_time)
        event = median_ms(lambda x=x, weight=weight, pad=pad: event_conv2d(x, weight, pad), args.min_time)
        print(f"| {name} | [{n}, {c_in}, {size}, {size}] | {c_out}x{c_in}x{k}x{k} | {dense:.1f} | {event:.1f} | "
              f"{dense / event:.2f}x | {diff:.1e} |")


if __name__ == "__main__":
    main()
