r"""The spiking layer as autograd functions: input currents ``I[T, B, ...]`` -> synaptic trace ``a``.

Two backward passes share one forward (:func:`~spikegrad.rules.na.neuron.na_forward`):

- :func:`na_lif`, Neighborhood Aggregation. Given ``g = dL/da`` it returns, as ``dL/dI[k]``,

  .. math::
      \delta[k] = \widehat{\Delta L}_k \cdot w(\vartheta - u[k])

  where :math:`\widehat{\Delta L}_k` is the estimated loss change of neighbour ``k``
  (:class:`~spikegrad.rules.na.modes.LossChange`, computed by
  :func:`~spikegrad.rules.na.neighbours.neighbour_loss_changes`) and ``w`` the mode's distance weight
  (:class:`~spikegrad.rules.na.modes.Faithful` or :class:`~spikegrad.rules.na.modes.Paper`). As in the
  original, ``delta`` is applied per step with no cross terms ``dI[t']/du[t]``: temporal effects enter
  only through the re-simulation. Autograd of the synapse before the layer then gives
  ``dL/dW = sum_t delta[t] a_in[t]^T`` and the upstream ``g`` of the previous layer. Cost: ``T (T-1) / 2``
  re-simulated LIF steps per neuron, vectorised over the neighbour axis and chunked to bound memory.
- :func:`surrogate_lif`, plain BPTT through the same neuron and trace with a surrogate spike derivative
  (any :class:`~spikegrad.grad.SpikeEstimator`): the shared scan
  (:func:`~spikegrad.functional.scan.neuron_scan`, O(T)) followed by the shared trace filter, so it is the
  same BPTT as every other layer of the library; the baseline NA is compared with.

NA's custom backward covers only the neighbour aggregation and passes no gradient to the initial state
(a carried state is a constant of the window).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch

from spikegrad.errors import ConfigError, ShapeError
from spikegrad.functional.neuron import NeuronState
from spikegrad.functional.scan import neuron_scan
from spikegrad.grad.base import SpikeEstimator
from spikegrad.rules.na.modes import Faithful, LayerRescaling, LossChange, NARule, Paper
from spikegrad.rules.na.neighbours import Resimulation, neighbour_loss_changes
from spikegrad.rules.na.neuron import (
    NAParameters,
    NAState,
    check_state,
    initial_state,
    na_forward,
    synaptic_trace,
)


def _reverse_accumulate_(x: torch.Tensor, decay: float) -> torch.Tensor:
    """In place: ``x[t] += decay * x[t+1]`` from the end backwards, so ``x[t]`` becomes
    ``sum_{t' >= t} decay^(t'-t) x[t']`` (the adjoint of the trace filter, up to ``1/tau_s``)."""
    for t in range(x.shape[0] - 2, -1, -1):
        x[t].add_(x[t + 1], alpha=decay)
    return x


def na_delta(
    grad_trace: torch.Tensor,
    currents: torch.Tensor,
    membrane: torch.Tensor,
    spikes: torch.Tensor,
    params: NAParameters,
    rule: NARule,
    is_output: bool = False,
    chunk_elements: int | None = None,
    resimulation: Resimulation = Resimulation.AUTO,
) -> torch.Tensor:
    """The NA gradient with respect to the input currents, before any layer rescaling.

    Args:
        grad_trace: ``g = dL/da``, ``[T, ...]``.
        currents: the forward pass's input currents, ``[T, ...]``.
        membrane: the forward pass's membrane potential before reset, ``[T, ...]``.
        spikes: the forward pass's spikes, ``[T, ...]``.
        params: the neuron's constants.
        rule: :class:`Faithful` or :class:`Paper`.
        is_output: whether this is the network's output layer (``LossChange.EXACT`` is allowed there).
        chunk_elements: memory budget of the neighbour re-simulation.
        resimulation: dense or settled-skipping neighbour re-simulation (same result; speed only).

    Returns:
        ``delta[T, ...]``; ``delta[k]`` is the neighbour-``k`` estimate of ``dL/dI[k]``.
    """
    if not isinstance(rule, (Faithful, Paper)):
        raise ConfigError("rule", f"expected Faithful or Paper, got {type(rule).__name__}")
    if grad_trace.shape != currents.shape:
        raise ShapeError("grad_trace", f"{list(currents.shape)} (the shape of the currents)", tuple(grad_trace.shape))
    change = rule.loss_change(is_output)
    # Large temporaries are few and updated in place: on the CPU a fresh tensor costs page faults.
    spike_weight = _reverse_accumulate_(grad_trace.clone(), params.syn_decay)  # e: dL/da over the trace's future
    if change is LossChange.ACCUMULATED:
        _reverse_accumulate_(spike_weight, params.syn_decay)
    spike_weight.div_(params.tau_s)  # P = e . (a_k - a) (accumulated) or g . (a_k - a) (first order, exact)
    flat = [x.reshape(x.shape[0], -1) for x in (currents, membrane, spikes, spike_weight)]
    exact = change is LossChange.EXACT
    loss_change, squares, _ = neighbour_loss_changes(*flat, params, quadratic=exact, chunk_elements=chunk_elements,
                                                     method=resimulation)
    if exact:
        loss_change.add_(squares, alpha=rule.curvature / 2.0)
    gap = torch.sub(params.threshold, membrane.reshape_as(flat[3]), out=flat[3])  # theta - u, in a dead buffer
    return loss_change.mul_(rule.weight(gap)).view_as(currents)


class _NALIF(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, currents, v0, a0, *options):  # type: ignore[override]
        # options: params, rule, is_output, rescaling, layer_key, chunk_elements, resimulation
        out = na_forward(currents, options[0], NAState(v0, a0))
        ctx.save_for_backward(currents, out.membrane, out.spikes)
        ctx.options = options
        ctx.mark_non_differentiable(out.state.v, out.state.a)
        return out.trace, out.state.v, out.state.a

    @staticmethod
    def backward(ctx: Any, grad_trace, grad_v, grad_a):  # type: ignore[override]
        currents, membrane, spikes = ctx.saved_tensors
        params, rule, is_output, rescaling, layer_key, chunk_elements, resimulation = ctx.options
        if grad_trace is None:
            grad_trace = torch.zeros_like(currents)
        delta = na_delta(grad_trace, currents, membrane, spikes, params, rule, is_output, chunk_elements, resimulation)
        if rescaling is not None:
            delta = rescaling(delta, layer_key)
        return (delta, None, None) + (None,) * len(ctx.options)


def _prepare(currents: torch.Tensor, state: NAState | None) -> NAState:
    if currents.dim() < 2:
        raise ShapeError("currents", "[T, B, ...] (time first)", tuple(currents.shape))
    if state is None:
        return initial_state(currents[0])
    check_state(state, currents.shape[1:])
    return state


def na_lif(
    currents: torch.Tensor,
    params: NAParameters,
    rule: NARule,
    state: NAState | None = None,
    *,
    is_output: bool = False,
    rescaling: LayerRescaling | None = None,
    layer_key: int = 0,
    chunk_elements: int | None = None,
    resimulation: Resimulation = Resimulation.AUTO,
) -> tuple[torch.Tensor, NAState]:
    """LIF + synaptic trace over ``currents[T, B, ...]`` with the NA backward pass.

    Args:
        currents: input currents, time first.
        params: neuron constants (:class:`NAParameters`).
        rule: :class:`Faithful` (the original code) or :class:`Paper` (the poster's finite difference).
        state: state before the first step (zeros if None).
        is_output: this layer is the network's output layer (for ``Paper(exact_output=True)``).
        rescaling: the network's shared :class:`LayerRescaling`; required when ``rule.rescale`` is set.
        layer_key: this layer's key in ``rescaling`` (its index in the network).
        chunk_elements: memory budget of the neighbour re-simulation (default 2**22 neighbour-neuron pairs).
        resimulation: :class:`~spikegrad.rules.na.neighbours.Resimulation` (speed only; default AUTO).

    Returns:
        ``(trace[T, B, ...], state after the last step)``.
    """
    state = _prepare(currents, state)
    if not isinstance(rule, (Faithful, Paper)):
        raise ConfigError("rule", f"expected Faithful or Paper, got {type(rule).__name__}")
    rule.loss_change(is_output)  # refuses EXACT on a hidden layer now rather than in the backward pass
    wants_rescaling = isinstance(rule, Faithful) and rule.rescale
    if wants_rescaling and rescaling is None:
        raise ConfigError("rescale", "Faithful(rescale=True) needs the network's LayerRescaling object")
    trace, v, a = _NALIF.apply(currents, state.v, state.a, params, rule, is_output,
                               rescaling if wants_rescaling else None, layer_key, chunk_elements, resimulation)
    return trace, NAState(v, a)


def surrogate_lif(
    currents: torch.Tensor,
    params: NAParameters,
    estimator: SpikeEstimator,
    state: NAState | None = None,
    *,
    detach_reset: bool = False,
) -> tuple[torch.Tensor, NAState]:
    """The same layer as :func:`na_lif` trained by plain BPTT with a surrogate spike derivative.

    ``ds/du`` is ``estimator.derivative(u - theta)``; ``detach_reset`` drops the reset's gradient path.
    Returns ``(trace[T, B, ...], state after the last step)``.
    """
    state = _prepare(currents, state)
    if not isinstance(estimator, SpikeEstimator):
        raise ConfigError("estimator", f"expected a SpikeEstimator, got {type(estimator).__name__}")
    neuron = dataclasses.replace(params.neuron, detach_reset=detach_reset)
    out = neuron_scan(currents, neuron, estimator, NeuronState(state.v))
    trace = synaptic_trace(out.spikes, params, state.a)
    return trace, NAState(out.state.v, trace[-1])
