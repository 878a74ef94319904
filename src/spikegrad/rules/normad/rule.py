r"""NormAD (Anwani & Rajendran): normalized approximate descent on the membrane-potential error.

For an output neuron with error :math:`e(t) = S_d(t) - S_o(t)` (+1 at desired-only grid steps, -1 at
observed-only ones) and the approximate gradient of its potential
:math:`\hat{\mathbf d}(t) = (\mathbf c * \hat h)(t)`, :math:`\hat h(t) = e^{-t/\tau_L'} H(t)/C`
(mV per pA; :math:`\tau_L'` is an effective time constant that absorbs the resets), one presentation gives

.. math:: \Delta\mathbf w = r \sum_t e(t)\,\frac{\hat{\mathbf d}(t)}{\lVert\hat{\mathbf d}(t)\rVert_2}

(instants with :math:`\hat{\mathbf d} = 0` skipped). The norm runs over all synapses of the neuron, so every
error instant moves the weights by exactly :math:`r` (pA). Hidden layers get the reconstructed
multi-layer rule of :mod:`~spikegrad.rules.normad.multilayer`.

:class:`NormAD` is not autograd: after a forward pass it writes :math:`-\Delta\mathbf w / r` into each
weight's ``.grad`` (adding to what is there), so ``torch.optim.SGD(lr=r)`` applies the update and any
optimizer, scheduler or per-layer learning rate (parameter groups) works on top.
"""

from __future__ import annotations

import dataclasses
import math

import torch

from spikegrad.errors import ConfigError, ShapeError
from spikegrad.rules.normad.kernel import membrane_response
from spikegrad.rules.normad.multilayer import (
    HiddenParameters,
    SpikeEvents,
    hidden_directions,
    hidden_events,
    kernel_tables,
)
from spikegrad.rules.normad.network import NetworkRecord, NormADNetwork


@dataclasses.dataclass(frozen=True)
class NormADParameters:
    r"""Options of the rule.

    Attributes:
        tau_prime_ms: :math:`\tau_L'` of :math:`\hat h` (ms). The group's code uses 1 ms; the paper's value is
            UNVERIFIED.
        hidden: the hidden-layer rule, or None to train only the output layer.
    """

    tau_prime_ms: float = 1.0
    hidden: HiddenParameters | None = HiddenParameters()

    def __post_init__(self) -> None:
        if not (math.isfinite(self.tau_prime_ms) and self.tau_prime_ms > 0):
            raise ConfigError("tau_prime_ms", f"must be a finite number > 0 ms, got {self.tau_prime_ms!r}")


def normad_direction(error: torch.Tensor, dhat: torch.Tensor) -> torch.Tensor:
    r""":math:`\sum_{t,b} e(t)\,\hat{\mathbf d}(t)/\lVert\hat{\mathbf d}(t)\rVert`, ``[K, J]``, from ``error[T, B, K]`` and ``dhat[T, B, J]``."""
    norms = dhat.norm(dim=-1, keepdim=True)
    unit = torch.where(norms > 0, dhat / norms.clamp(min=torch.finfo(dhat.dtype).tiny), 0.0)
    return torch.einsum("tbk,tbj->kj", error, unit)


class NormAD:
    """The NormAD rule for a :class:`~spikegrad.rules.normad.network.NormADNetwork`.

    Usage, one presentation (or a batch of them) per step::

        rule = NormAD(net, NormADParameters())
        opt = torch.optim.SGD([{"params": [w], "lr": r} for w in net.weights])
        opt.zero_grad()
        record = net(inputs)                  # [T, B, n_in] -> NetworkRecord
        error = rule.accumulate(record, desired)
        opt.step()
    """

    def __init__(self, network: NormADNetwork, params: NormADParameters = NormADParameters()):
        self.network, self.params = network, params

    def directions(self, record: NetworkRecord, error: torch.Tensor) -> list[torch.Tensor | None]:
        r"""Unit-scaled :math:`\Delta W/r` for every weight layer (input first); None where not trained."""
        net, tau = self.network, self.params.tau_prime_ms

        def dhat(layer, tau_ms: float) -> torch.Tensor:
            return membrane_response(layer.input_traces, net.kernel, tau_ms, net.neuron.capacitance_pf, net.dt_ms)

        output = normad_direction(error, dhat(record.layers[-1], tau))
        if self.params.hidden is None or len(record.layers) == 1:
            return [None] * (len(record.layers) - 1) + [output]
        errors = SpikeEvents.of(error)
        if errors.step.numel() == 0:
            return [torch.zeros_like(w) for w in net.weights[:-1]] + [output]
        hidden_tau = self.params.hidden.tau_ms(tau)
        tables = kernel_tables(error.shape[0], net.kernel, hidden_tau, net.neuron, net.dt_ms, output)
        handles = [
            hidden_events(layer.spikes, layer.membrane_mv, weight, layer.input_traces.kappa, net.neuron, self.params.hidden)
            for layer, weight in zip(record.layers[:-1], net.weights)
        ]
        hidden = hidden_directions(
            errors,
            error[errors.step, errors.batch, errors.neuron],
            handles,
            list(net.weights),
            [dhat(layer, hidden_tau) for layer in record.layers[:-1]],
            tables,
        )
        return hidden + [output]

    @torch.no_grad()
    def accumulate(self, record: NetworkRecord, desired: torch.Tensor) -> torch.Tensor:
        """Add :math:`-\\Delta W/r` for the presentation(s) in ``record`` to the weights' ``.grad``.

        ``desired`` is the 0/1 target train ``[T, B, n_out]``. Returns the error ``desired - output``.
        """
        if desired.shape != record.output.shape:
            raise ShapeError("desired", f"{list(record.output.shape)} (the output spikes' shape)", tuple(desired.shape))
        error = desired.to(record.output.dtype) - record.output
        for weight, direction in zip(self.network.weights, self.directions(record, error)):
            if direction is not None:
                weight.grad = -direction if weight.grad is None else weight.grad - direction
        return error
