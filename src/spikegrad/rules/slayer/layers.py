"""SLAYER layers as time-first modules: SRM neuron, learnable axonal delay, sum-pooling, and blocks.

A SLAYER layer is ``synapse -> neuron -> delay`` (Shrestha & Orchard 2018; slayerPytorch writes it as
``delay(spike(psp(synapse(x))))``): :class:`SLAYERBlock` composes three sub-modules. Spikes are 0/1
tensors ``[T, B, ...]``; the ``1/Ts`` amplitude of the original lives inside the SLAYER ops
(:mod:`spikegrad.rules.slayer.spike`), so weight and delay gradients equal slayerPytorch's.

Every stateful module here returns ``(output, state)``, and calling it on ``x[:k]`` then ``x[k:]`` with the
carried state gives the same numbers as calling it on ``x``.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from spikegrad.errors import ConfigError
from spikegrad.functional.psp import FilterMethod, psp
from spikegrad.grad.base import SpikeEstimator
from spikegrad.nn.base import SpikingLayer, StatefulModule, last_steps
from spikegrad.nn.delay import AxonalDelay
from spikegrad.nn.synapses import Conv2d, Dense, SumPool2d
from spikegrad.rules.slayer.spike import slayer_spike
from spikegrad.rules.slayer.srm import SRMParameters
from spikegrad.types import check_neuron_input, check_time_first, full_precision

DENSE_WEIGHT_SCALE = 10.0  # slayerPytorch's default weightScale for dense layers
CONV_WEIGHT_SCALE = 100.0  # ... and for conv layers
POOL_WEIGHT = 1.1  # fixed sum-pool weight, in units of theta


@dataclasses.dataclass(frozen=True)
class SRMSpec:
    """A neuron slot of SLAYER's spike-response model (:class:`SRMNeuron`): a slot type of SLAYER's own,
    which :meth:`spikegrad.rules.slayer.plugin.SLAYER.layer` realises and every other rule refuses.

    Attributes:
        params: the SRM neuron, with its own spike PDF (``tau_rho``, ``scale_rho``).
        method: PSP evaluation (:class:`~spikegrad.functional.psp.FilterMethod`).
    """

    params: SRMParameters
    method: FilterMethod = FilterMethod.IIR

    neuron_name: ClassVar[str] = "SRM"


class SRMState(NamedTuple):
    """State of :class:`SRMNeuron` between calls.

    ``inputs[K_eps - 1, B, ...]``: the last inputs, which the PSP kernel still reaches;
    ``pending[K_nu - 1, B, ...]``: refractory responses scheduled past the end of the last call.
    """

    inputs: torch.Tensor
    pending: torch.Tensor


class SRMNeuron(SpikingLayer):
    r"""SLAYER's spike-response-model neurons: ``s = spike(psp(x))`` with refractoriness.

    ``u[n] = sum_k eps[k] x[n-k]`` (:func:`~spikegrad.functional.psp.psp`), then the threshold scan with
    the refractory kernel (:func:`~spikegrad.rules.slayer.spike.slayer_spike`).

    Args:
        params: :class:`~spikegrad.rules.slayer.srm.SRMParameters` (theta, tau_sr, tau_ref in ms, Ts, ...).
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
        check_neuron_input(x, "SRMNeuron input")
        x = full_precision(x)
        history = self.params.srm_kernel.length - 1
        if state is None:
            u, pending = psp(x, self.params.srm_kernel, self.method), None
        else:
            u = psp(torch.cat([state.inputs, x]), self.params.srm_kernel, self.method)[history:]
            pending = state.pending
        out = slayer_spike(u, self.params, self.estimator, pending)
        self.keep(out.spikes, out.membrane)
        inputs = last_steps(None if state is None else state.inputs, x, history)
        return out.spikes, SRMState(inputs, out.pending)

    @property
    def kind(self) -> str:
        return f"SRM (theta {self.params.theta:g})"

    def extra_repr(self) -> str:
        return f"{self.params}, estimator={self.estimator}, method={self.method.name}"


class SLAYERPool(SumPool2d):
    """SLAYER's sum-pooling synapse: fixed weight ``1.1 * theta``, sizes padded as slayerPytorch's ``pool``.

    ``[T, B, C, H, W] -> [T, B, C, floor((H + H % k) / s), floor((W + W % k) / s)]`` (stride ``s``, default
    ``k``): like the original, a height or width that ``k`` does not divide gets ``H % k`` zero rows (or
    ``W % k`` columns) at the end before pooling; ``k = 4, H = 10`` gives 3 rows, ``k = 2`` gives
    ``ceil(H / 2)``. One input spike then drives the next neuron over threshold
    (``1.1 theta eps(t) >= theta`` once ``eps >= 0.909``).
    """

    def __init__(self, kernel_size: int, theta: float, stride: int | None = None):
        super().__init__(kernel_size, stride, scale=POOL_WEIGHT * theta)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_time_first(x, "SLAYERPool input", min_dims=5)
        k = self.kernel_size
        return super().forward(F.pad(x, (0, x.shape[-1] % k, 0, x.shape[-2] % k)))


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
