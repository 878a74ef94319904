"""How a synapse layer multiplies its input: a dense product, the event-driven path, or chosen per call.

``dense`` runs the dense product (one GEMM over all time steps). ``event`` sums the weights of the active
inputs only (:func:`spikegrad.functional.event_linear.event_linear`; exact to float rounding, cost
proportional to the non-zeros). ``auto`` (the default) picks per call: the event path for float32/float64
CPU inputs, outside autocast, whose sampled density (:func:`sampled_density`) is at most
:data:`EVENT_DENSITY_THRESHOLD`; the dense product otherwise (GPU GEMMs, bf16 autocast, dense inputs).

On CUDA ``event`` runs the fused Triton kernel (:mod:`spikegrad.kernels.event_linear`) and ``auto`` stays
dense: the threshold above was measured on a CPU, and whether the kernel beats cuBLAS at spike densities is
what ``benchmarks/gpu_check.py`` measures (the benchmark network's Dense layers in ``event`` against
``dense`` mode at 5 % input density), not yet run on a GPU.
"""

from __future__ import annotations

import enum

import torch
from torch import nn

from spikegrad.errors import ConfigError

EVENT_DENSITY_THRESHOLD = 0.12
"""Largest input density (fraction of non-zeros) at which ``auto`` takes the event path.

Measured on the development machine (2 vCPU AMD EPYC, 2 threads; ``benchmarks/bench_event_synapse.py``,
1024 x 1024 weight, 32 000 input rows): forward + backward of a hidden layer is 2.6x / 1.8x / 1.4x / 1.1x
faster on the event path at 1 / 5 / 10 / 15 % density and 0.95x at 20 % (``benchmarks/RESULTS.md``).
"""

_SAMPLE_ROWS = 256


class SynapseMode(enum.Enum):
    """How a synapse layer multiplies its input (see the module docstring)."""

    AUTO = "auto"
    DENSE = "dense"
    EVENT = "event"

    @classmethod
    def parse(cls, value: SynapseMode | str, option: str = "synapse_mode") -> SynapseMode:
        if isinstance(value, cls):
            return value
        try:
            return cls(value)
        except ValueError:
            raise ConfigError(option, f"expected one of {[m.value for m in cls]}, got {value!r}") from None


def sampled_density(x: torch.Tensor) -> float:
    """Fraction of non-zeros in ``x`` estimated from at most 256 evenly spaced rows of ``x[..., in]``.

    Rows are time steps x samples, so the sample spans the whole sequence; the cost is that of reading
    256 rows, not the whole input.
    """
    rows = x.reshape(-1, x.shape[-1])
    sample = rows[:: max(1, rows.shape[0] // _SAMPLE_ROWS)]
    return float(torch.count_nonzero(sample)) / max(1, sample.numel())


def use_event_path(x: torch.Tensor, mode: SynapseMode) -> bool:
    """Whether a synapse in ``mode`` takes the event path for this input (``auto``: see the module docstring)."""
    if mode is not SynapseMode.AUTO:
        return mode is SynapseMode.EVENT
    if x.device.type != "cpu" or x.dtype not in (torch.float32, torch.float64) or x.numel() == 0:
        return False
    if torch.is_autocast_enabled("cpu"):
        return False
    return sampled_density(x) <= EVENT_DENSITY_THRESHOLD


def set_synapse_mode(model: nn.Module, mode: SynapseMode | str) -> int:
    """Set ``synapse_mode`` on every synapse layer of ``model`` that has one; returns how many were set."""
    mode = SynapseMode.parse(mode)
    layers = [m for m in model.modules() if hasattr(m, "synapse_mode")]
    for layer in layers:
        layer.synapse_mode = mode
    return len(layers)


def event_path_share(model: nn.Module) -> float | None:
    """Fraction of the synapse layers' forward calls so far that took the event path (None: no such layer)."""
    counts = [m.path_calls for m in model.modules() if hasattr(m, "path_calls")]
    total = sum(c["event"] + c["dense"] for c in counts)
    return sum(c["event"] for c in counts) / total if total else None
