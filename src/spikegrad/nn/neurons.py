"""Neuron modules: thin shells over :func:`spikegrad.functional.neuron_scan`.

Each module stores its parameters and estimator, and returns ``(spikes, state)`` for input currents
``x[T, B, ...]``. The neuron type is decided by the parameter object alone; the maths lives in
:mod:`spikegrad.functional.neuron`. A layer may also train its own decay, threshold and recurrent
weights (:class:`~spikegrad.nn.own_weights.OwnWeights`).
"""

from __future__ import annotations

import torch

from spikegrad.errors import ConfigError
from spikegrad.functional.leaky import leaky_integrate
from spikegrad.functional.neuron import (
    NO_WEIGHTS,
    ALIFParameters,
    CUBAParameters,
    IFParameters,
    LIFParameters,
    NeuronParameters,
    NeuronState,
    Reset,
)
from spikegrad.functional.scan import neuron_scan
from spikegrad.grad.base import SpikeEstimator
from spikegrad.grad.surrogates import FastSigmoid
from spikegrad.nn.base import SpikingLayer, StatefulModule
from spikegrad.nn.own_weights import OwnWeights
from spikegrad.types import check_time_first


class SpikingNeuron(SpikingLayer):
    """A population of spiking neurons of any type, multi-step.

    Args:
        params: the neuron type and its constants (e.g. :class:`LIFParameters`, :class:`ALIFParameters`).
        estimator: the spike-derivative estimator (default :class:`FastSigmoid`, slope 25).
        own: the layer's own trainable decay, threshold or recurrent weights (:class:`OwnWeights`);
            where it trains one, that value replaces the constant of ``params``.

    Shape:
        input ``[T, B, *features]`` currents; output spikes of the same shape; state tensors ``[B, *features]``
        (:class:`~spikegrad.functional.NeuronState`; recurrent layers need ``[T, B, N]``).
    """

    def __init__(self, params: NeuronParameters, estimator: SpikeEstimator | None = None, own: OwnWeights | None = None):
        super().__init__()
        self.params = params
        self.estimator = estimator if estimator is not None else FastSigmoid()
        self.own = own
        self.compiled = False  # the scan's backward compiled for the CPU (set_compiled_scans)

    def forward(self, x: torch.Tensor, state: NeuronState | None = None) -> tuple[torch.Tensor, NeuronState]:
        check_time_first(x, type(self).__name__ + " input", min_dims=2)  # the scan checks dtype and values
        out = neuron_scan(x, self.params, self.estimator, state, NO_WEIGHTS if self.own is None else self.own(),
                          compiled=self.compiled)
        self.keep(out.spikes, out.membrane)
        return out.spikes, out.state

    @property
    def family(self) -> str:
        """``LIF``, ``IF``, ``CUBA`` or ``ALIF`` (the parameter class's name for other neuron types)."""
        names = {LIFParameters: "LIF", CUBAParameters: "CUBA", IFParameters: "IF", ALIFParameters: "ALIF"}
        return names.get(type(self.params), type(self.params).__name__)

    @property
    def kind(self) -> str:
        own = "" if self.own is None else f", {self.own.spec.describe()}"
        return f"{self.family} (V_th {self.params.threshold:g}{own})"

    def extra_repr(self) -> str:
        return f"{self.params}, estimator={self.estimator}"


def set_compiled_scans(model: torch.nn.Module, enabled: bool) -> int:
    """Turn the scan's compiled CPU backward (:mod:`spikegrad.functional.compiled_scan`) on or off in every
    :class:`SpikingNeuron` of ``model``; returns how many there are.

    Raises:
        ConfigError: ``enabled`` and a neuron layer the compiled scan does not cover (adaptation, own tensors).
    """
    layers = [module for module in model.modules() if isinstance(module, SpikingNeuron)]
    for layer in layers:
        if enabled and (layer.params.adaptation is not None or layer.own is not None):
            raise ConfigError("compile", f"the compiled backward covers plain neurons; this network has a {layer.kind} "
                              "layer (adaptation and the neuron's own tensors run the reference scan)")
        layer.compiled = enabled
    return len(layers)


class LIF(SpikingNeuron):
    """Leaky integrate-and-fire neurons (see :class:`~spikegrad.functional.LIFParameters`)."""

    def __init__(
        self,
        tau_mem: float = 20.0,
        threshold: float = 1.0,
        reset: Reset = Reset.SUBTRACT,
        detach_reset: bool = False,
        dt: float = 1.0,
        estimator: SpikeEstimator | None = None,
        strict: bool = False,
    ):
        params = LIFParameters(threshold=threshold, reset=reset, detach_reset=detach_reset, strict=strict,
                               tau_mem=tau_mem, dt=dt)
        super().__init__(params, estimator)


class IF(SpikingNeuron):
    """Integrate-and-fire neurons without leak (see :class:`~spikegrad.functional.IFParameters`)."""

    def __init__(
        self,
        threshold: float = 1.0,
        reset: Reset = Reset.SUBTRACT,
        detach_reset: bool = False,
        estimator: SpikeEstimator | None = None,
        strict: bool = False,
    ):
        super().__init__(IFParameters(threshold=threshold, reset=reset, detach_reset=detach_reset, strict=strict), estimator)


class CUBA(SpikingNeuron):
    """Current-based LIF neurons (see :class:`~spikegrad.functional.CUBAParameters`)."""

    def __init__(
        self,
        tau_mem: float = 20.0,
        tau_syn: float = 5.0,
        threshold: float = 1.0,
        reset: Reset = Reset.SUBTRACT,
        detach_reset: bool = False,
        dt: float = 1.0,
        estimator: SpikeEstimator | None = None,
        strict: bool = False,
    ):
        params = CUBAParameters(threshold=threshold, reset=reset, detach_reset=detach_reset, strict=strict,
                                tau_mem=tau_mem, dt=dt, tau_syn=tau_syn)
        super().__init__(params, estimator)


class ALIF(SpikingNeuron):
    """LIF neurons with an adaptive threshold (see :class:`~spikegrad.functional.ALIFParameters`)."""

    def __init__(
        self,
        tau_mem: float = 20.0,
        tau_adapt: float = 200.0,
        adapt_strength: float = 0.1,
        threshold: float = 1.0,
        reset: Reset = Reset.SUBTRACT,
        detach_reset: bool = False,
        dt: float = 1.0,
        estimator: SpikeEstimator | None = None,
        strict: bool = False,
    ):
        params = ALIFParameters(threshold=threshold, reset=reset, detach_reset=detach_reset, strict=strict,
                                tau_mem=tau_mem, dt=dt, tau_adapt=tau_adapt, adapt_strength=adapt_strength)
        super().__init__(params, estimator)


class LeakyIntegrator(StatefulModule):
    """Non-spiking readout ``v_t = beta v_{t-1} + x_t`` with ``beta = exp(-dt/tau_mem)``; returns the trace.

    ``tau_mem=inf`` gives a plain integrator (``beta = 1``). Output ``[T, B, ...]``; state ``[B, ...]``.
    """

    def __init__(self, tau_mem: float = 20.0, dt: float = 1.0):
        super().__init__()
        self.tau_mem, self.dt = tau_mem, dt
        self.beta = float(torch.exp(torch.tensor(-dt / tau_mem)))

    def forward(self, x: torch.Tensor, state: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        check_time_first(x, "LeakyIntegrator input", min_dims=2)
        trace = leaky_integrate(x, self.beta, state)
        return trace, trace[-1]

    def extra_repr(self) -> str:
        return f"tau_mem={self.tau_mem}, dt={self.dt}"
