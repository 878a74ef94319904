"""SLAYER layers as time-first modules: SRM neuron, learnable axonal delay, sum-pooling, and blocks.

A SLAYER layer is ``synapse -> neuron -> delay`` (Shrestha & Orchard 2018; slayerPytorch writes it as
``delay(spike(psp(synapse(x))))``): :class:`SLAYERBlock` composes three sub-modules. Spikes are 0/1
tensors ``[T, B, ...]``; the ``1/Ts`` amplitude of the original lives inside the SLAYER ops
(:mod:`spikegrad.functional.slayer_spike`), so weight and delay gradients equal slayerPytorch's.

Every stateful module here returns ``(output, state)``, and calling it on ``x[:k]`` then ``x[k:]`` with the
carried state gives the same numbers as calling it on ``x``.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from spikegrad.errors import ConfigError
from spikegrad.functional.delay import axonal_delay, delay_bins
from spikegrad.functional.psp import FilterMethod, psp
from spikegrad.functional.slayer_spike import slayer_spike
from spikegrad.functional.srm import SRMParameters
from spikegrad.grad.base import SpikeEstimator
from spikegrad.nn.base import StatefulModule
from spikegrad.nn.synapses import Conv2d, Dense, SumPool2d
from spikegrad.types import check_time_first

DENSE_WEIGHT_SCALE = 10.0  # slayerPytorch's default weightScale for dense layers
CONV_WEIGHT_SCALE = 100.0  # ... and for conv layers
POOL_WEIGHT = 1.1  # fixed sum-pool weight, in units of theta


def _last_rows(prefix: torch.Tensor | None, x: torch.Tensor, rows: int) -> torch.Tensor:
    """The last ``rows`` time steps of ``cat(prefix, x)``, zero-padded in front when there are fewer."""
    full = x if prefix is None else torch.cat([prefix, x])
    if full.shape[0] >= rows:
        return full[full.shape[0] - rows :]
    return torch.cat([full.new_zeros((rows - full.shape[0], *full.shape[1:])), full])


class SRMState(NamedTuple):
    """State of :class:`SRMNeuron` between calls.

    ``inputs[K_eps - 1, B, ...]``: the last inputs, which the PSP kernel still reaches;
    ``pending[K_nu - 1, B, ...]``: refractory responses scheduled past the end of the last call.
    """

    inputs: torch.Tensor
    pending: torch.Tensor


class SRMNeuron(StatefulModule):
    r"""SLAYER's spike-response-model neurons: ``s = spike(psp(x))`` with refractoriness.

    ``u[n] = sum_k eps[k] x[n-k]`` (:func:`~spikegrad.functional.psp.psp`), then the threshold scan with
    the refractory kernel (:func:`~spikegrad.functional.slayer_spike.slayer_spike`).

    Args:
        params: :class:`~spikegrad.functional.srm.SRMParameters` (theta, tau_sr, tau_ref in ms, Ts, ...).
        estimator: surrogate ``rho``; default ``params.estimator()`` (SLAYER's exponential PDF).
        method: PSP evaluation, ``FilterMethod.IIR`` (O(T), default) or ``FilterMethod.FIR`` (reference).

    Shape:
        input ``[T, B, *features]`` synaptic input per bin (weighted 0/1 spikes); output 0/1 spikes of the
        same shape; state :class:`SRMState`.
    """

    def __init__(
        self,
        params: SRMParameters,
        estimator: SpikeEstimator | None = None,
        method: FilterMethod = FilterMethod.IIR,
    ):
        super().__init__()
        self.params = params
        self.estimator = estimator if estimator is not None else params.estimator()
        self.method = method

    def forward(self, x: torch.Tensor, state: SRMState | None = None) -> tuple[torch.Tensor, SRMState]:
        check_time_first(x, "SRMNeuron input", min_dims=2)
        history = self.params.srm_kernel.length - 1
        if state is None:
            u, pending = psp(x, self.params.srm_kernel, self.method), None
        else:
            u = psp(torch.cat([state.inputs, x]), self.params.srm_kernel, self.method)[history:]
            pending = state.pending
        out = slayer_spike(u, self.params, self.estimator, pending)
        inputs = _last_rows(None if state is None else state.inputs, x, history)
        return out.spikes, SRMState(inputs, out.pending)

    def extra_repr(self) -> str:
        return f"{self.params}, estimator={self.estimator}, method={self.method.name}"


class AxonalDelay(StatefulModule):
    r"""Learnable axonal delays: ``y[n] = x[n - trunc(d / Ts)]`` per neuron or per channel.

    The delay ``d`` (ms) is a parameter of shape ``shape``, broadcast to the features: ``(N,)`` or
    ``(C, H, W)`` for one delay per neuron, ``(C, 1, 1)`` for one per channel. It is initialised
    U(0, ``init_max``) ms like slayerPytorch, and projected onto ``[0, max_delay]`` at the start of every
    forward call (after an optimizer step has moved it), so the layer stays causal without user code.
    Gradient: SLAYER's backward difference of the delayed signal (:mod:`spikegrad.functional.delay`).

    State: the last ``max trunc(d / Ts)`` input steps, ``[K, B, *features]``.
    """

    def __init__(self, shape: tuple[int, ...], ts: float, max_delay: float | None = None, init_max: float = 1.0):
        super().__init__()
        if max_delay is not None and not max_delay >= 0:
            raise ConfigError("max_delay", f"must be >= 0 ms or None, got {max_delay!r}")
        if not init_max >= 0:
            raise ConfigError("init_max", f"must be >= 0 ms, got {init_max!r}")
        if not ts > 0:
            raise ConfigError("Ts", f"must be > 0 ms, got {ts!r}")
        self.ts, self.max_delay, self.init_max = ts, max_delay, init_max
        self.delay = nn.Parameter(torch.empty(shape))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        with torch.no_grad():
            self.delay.uniform_(0.0, self.init_max)

    def forward(self, x: torch.Tensor, state: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        check_time_first(x, "AxonalDelay input")
        with torch.no_grad():
            self.delay.clamp_(min=0.0, max=self.max_delay)
        history = int(delay_bins(self.delay, self.ts).max())
        if state is None:
            y = axonal_delay(x, self.delay, self.ts)
        else:
            carried = _last_rows(None, state, history)
            y = axonal_delay(torch.cat([carried, x]), self.delay, self.ts)[history:]
        return y, _last_rows(state, x, history)

    def extra_repr(self) -> str:
        return f"shape={tuple(self.delay.shape)}, ts={self.ts}, max_delay={self.max_delay}"


class SLAYERPool(SumPool2d):
    """SLAYER's sum-pooling synapse: fixed weight ``1.1 * theta``, odd sizes padded with one zero row/column.

    ``[T, B, C, H, W] -> [T, B, C, ceil(H/k), ceil(W/k)]`` for ``k = 2``: like slayerPytorch's ``pool``,
    an odd height or width gets one zero row or column at the end before pooling (for other ``k`` the
    output is ``floor((H + H % 2) / k)``, as in the original). One input spike then drives the next
    neuron over threshold (``1.1 theta eps(t) >= theta`` once ``eps >= 0.909``).
    """

    def __init__(self, kernel_size: int, theta: float, stride: int | None = None):
        super().__init__(kernel_size, stride, scale=POOL_WEIGHT * theta)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_time_first(x, "SLAYERPool input", min_dims=5)
        return super().forward(F.pad(x, (0, x.shape[-1] % 2, 0, x.shape[-2] % 2)))


def slayer_dense(in_features: int, out_features: int, weight_scale: float = DENSE_WEIGHT_SCALE) -> Dense:
    """A bias-free :class:`~spikegrad.nn.Dense` with PyTorch's default init times ``weight_scale`` (SLAYER: 10)."""
    layer = Dense(in_features, out_features, bias=False)
    with torch.no_grad():
        layer.weight.mul_(weight_scale)
    return layer


def slayer_conv(
    in_channels: int,
    out_channels: int,
    kernel_size: int,
    stride: int = 1,
    padding: int = 0,
    dilation: int = 1,
    groups: int = 1,
    weight_scale: float = CONV_WEIGHT_SCALE,
) -> Conv2d:
    """A bias-free :class:`~spikegrad.nn.Conv2d` with PyTorch's default init times ``weight_scale`` (SLAYER: 100)."""
    layer = Conv2d(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias=False)
    with torch.no_grad():
        layer.weight.mul_(weight_scale)
    return layer


class BlockState(NamedTuple):
    """State of :class:`SLAYERBlock`: its neuron's state and its delay's state (None without a delay)."""

    neuron: object
    delay: torch.Tensor | None


class SLAYERBlock(StatefulModule):
    """One SLAYER layer: ``synapse -> neuron -> delay``, three sub-modules composed.

    Args:
        synapse: a stateless per-step module (:func:`slayer_dense`, :func:`slayer_conv`, :class:`SLAYERPool`).
        neuron: a :class:`~spikegrad.nn.StatefulModule` neuron, usually :class:`SRMNeuron`.
        delay: an optional :class:`AxonalDelay` applied to the output spikes.

    Shape:
        ``[T, B, *in_features] -> [T, B, *out_features]``; state :class:`BlockState`.
    """

    def __init__(self, synapse: nn.Module, neuron: StatefulModule, delay: AxonalDelay | None = None):
        super().__init__()
        if isinstance(synapse, StatefulModule):
            kind = type(synapse).__name__
            raise ConfigError("synapse", f"must be a stateless per-step module, got the stateful {kind}")
        self.synapse, self.neuron, self.delay = synapse, neuron, delay

    def forward(self, x: torch.Tensor, state: BlockState | None = None) -> tuple[torch.Tensor, BlockState]:
        neuron_state, delay_state = (None, None) if state is None else state
        spikes, neuron_state = self.neuron(self.synapse(x), neuron_state)
        if self.delay is not None:
            spikes, delay_state = self.delay(spikes, delay_state)
        return spikes, BlockState(neuron_state, delay_state)
