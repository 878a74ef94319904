r"""SLAYER's losses (slayerPytorch ``spikeLoss``): SpikeTime and NumSpikes, on 0/1 spikes ``[T, B, ...]``.

Both filter an error spike train with the output layer's spike-response kernel ``eps`` (the PSP,
:func:`~spikegrad.functional.psp.psp`) and integrate its square over time (``Ts`` in ms):

.. math:: E = \tfrac12\, T_s \sum_{b, i, n} e_{b,i}[n]^2

summed over the batch, as the original does (divide by ``B`` for a mean). With 0/1 spikes,
``psp(x)[n] = sum_k eps[k] x[n-k]`` equals the original's ``Ts * sum_k eps[k] s[n-k]`` on ``1/Ts``
spikes, so loss values are the original's; gradients with respect to the 0/1 spikes are ``1/Ts`` times
the original's (the spike op's ``Ts`` factor restores the original weight gradients).

- **SpikeTime** (van Rossum-like): ``e = psp(s_out - s_desired)``.
- **NumSpikes** (spike count in a window ``[start, stop)``, ``rint(t / Ts)`` bins, ``L = stop - start``):
  ``e[n] = psp(s_out - s_hat)[n] + 1[n in W] * (N_act - N_des) / L * count_scale`` where ``N_act`` is the
  window's spike count (a constant, no gradient), ``N_des`` is ``true_count`` for the labelled class and
  ``false_count`` for the others, and ``s_hat`` is a constant copy of ``s_out`` inside the window and 0
  outside. The gradient reaches ``s_out`` only through the PSP term:
  ``dE/ds[m] = Ts * sum_k eps[k] e[m+k]``; a spike in the last bin gets zero gradient (``eps[0] = 0``).
"""

from __future__ import annotations

import dataclasses
import math

import torch
from torch import nn

from spikegrad.errors import ConfigError, ShapeError
from spikegrad.functional.psp import FilterMethod, psp
from spikegrad.rules.slayer.srm import SRMParameters


def spike_time_loss(
    output: torch.Tensor, desired: torch.Tensor, params: SRMParameters, method: FilterMethod = FilterMethod.IIR
) -> torch.Tensor:
    """SpikeTime: ``1/2 Ts sum (psp(output - desired))^2`` for 0/1 spike trains ``[T, B, ...]``."""
    if output.shape != desired.shape or output.dim() < 2:
        got = f"{tuple(output.shape)} and {tuple(desired.shape)}"
        raise ShapeError("spike_time_loss output/desired", "two equal shapes [T, B, ...]", got)
    error = psp(output - desired, params.srm_kernel, method)
    return 0.5 * params.ts * error.square().sum()


@dataclasses.dataclass(frozen=True)
class CountTarget:
    """NumSpikes targets: spike counts wanted in the window ``[start, stop)`` (ms).

    Attributes:
        start, stop: window edges in ms (``rint(t / Ts)`` bins, as slayerPytorch).
        true_count: spikes wanted from the labelled class's output neuron in the window.
        false_count: spikes wanted from every other output neuron (non-zero keeps them alive).
        count_scale: multiplies the count error (``numSpikesScale``).
    """

    start: float
    stop: float
    true_count: float
    false_count: float
    count_scale: float = 1.0

    def __post_init__(self) -> None:
        for option in ("start", "stop", "true_count", "false_count", "count_scale"):
            if not math.isfinite(getattr(self, option)):
                raise ConfigError(option, f"must be finite, got {getattr(self, option)!r}")
        if not 0 <= self.start < self.stop:
            raise ConfigError("window", f"need 0 <= start < stop (ms), got ({self.start}, {self.stop})")

    def bins(self, ts: float, steps: int) -> tuple[int, int]:
        """The window ``(start, stop)`` in bins of ``ts`` ms, checked against a sequence of ``steps`` bins."""
        start, stop = int(round(self.start / ts)), int(round(self.stop / ts))
        if not 0 <= start < stop <= steps:
            raise ConfigError(
                "window", f"[{self.start}, {self.stop}) ms is bins [{start}, {stop}), outside 0..{steps} bins"
            )
        return start, stop


def num_spikes_loss(
    output: torch.Tensor,
    labels: torch.Tensor,
    params: SRMParameters,
    target: CountTarget,
    method: FilterMethod = FilterMethod.IIR,
) -> torch.Tensor:
    """NumSpikes loss of output spikes ``[T, B, C]`` against integer class ``labels[B]`` (module docstring)."""
    if output.dim() != 3 or labels.shape != output.shape[1:2]:
        got = f"{tuple(output.shape)} and {tuple(labels.shape)}"
        raise ShapeError("num_spikes_loss output/labels", "[T, B, C] and [B]", got)
    start, stop = target.bins(params.ts, output.shape[0])
    window = torch.zeros((output.shape[0], 1, 1), dtype=output.dtype, device=output.device)
    window[start:stop] = 1.0
    counts = output.detach()[start:stop].sum(0)
    is_label = nn.functional.one_hot(labels.long(), output.shape[2]).bool()
    desired = torch.where(is_label, target.true_count, target.false_count).to(output.dtype)
    count_error = (counts - desired) * (target.count_scale / (stop - start))
    error = psp(output - output.detach() * window, params.srm_kernel, method) + window * count_error
    return 0.5 * params.ts * error.square().sum()


def predict_class(output: torch.Tensor) -> torch.Tensor:
    """SLAYER's ``getClass``: the output neuron with the most spikes over the sample, ``[T, B, C] -> [B]``."""
    if output.dim() != 3:
        raise ShapeError("predict_class output", "[T, B, C]", tuple(output.shape))
    return output.sum(0).argmax(1)


class SpikeTimeLoss(nn.Module):
    """Module form of :func:`spike_time_loss`; call as ``loss(output, desired)``."""

    def __init__(self, params: SRMParameters, method: FilterMethod = FilterMethod.IIR):
        super().__init__()
        self.params, self.method = params, method

    def forward(self, output: torch.Tensor, desired: torch.Tensor) -> torch.Tensor:
        return spike_time_loss(output, desired, self.params, self.method)


class NumSpikesLoss(nn.Module):
    """Module form of :func:`num_spikes_loss`; call as ``loss(output[T, B, C], labels[B])``."""

    def __init__(self, params: SRMParameters, target: CountTarget, method: FilterMethod = FilterMethod.IIR):
        super().__init__()
        self.params, self.target, self.method = params, target, method

    def forward(self, output: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return num_spikes_loss(output, labels, self.params, self.target, self.method)

    def extra_repr(self) -> str:
        return f"{self.target}"
