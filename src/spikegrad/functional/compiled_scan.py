r"""The neuron scan compiled for the CPU: :data:`CHUNK` steps at a time fused into one loop (opt-in, ``--compile``).

The reference scan (:mod:`spikegrad.functional.scan`) runs every step as four to six elementwise ops, each a
pass over ``[B, ...]`` through memory. Here :data:`CHUNK` steps are traced through the same step functions
(:func:`~spikegrad.functional.neuron.step_forward` forward; the estimator's derivative and the reset's
derivative of the scan's backward) and compiled by ``torch.compile`` (inductor), which fuses the chunk into
one loop that carries each neuron's state through the chunk in registers: per step it reads ``x_t`` and
writes ``h_t`` and ``s_t`` (forward), reads ``h_t`` and the incoming gradients and writes ``dL/dx_t``
(backward). The equations are those of :class:`~spikegrad.functional.scan._NeuronScan`:

.. math::
    h_t = \beta v_{t-1} + i_t,\quad s_t = H(h_t - \vartheta),\quad v_t = \mathrm{reset}(h_t, s_t);\qquad
    \frac{\partial L}{\partial h_t} = g^s_t \sigma'_t + g^h_t + \frac{\partial L}{\partial v_t}
        \Big(\frac{\partial v_t}{\partial h_t} + \frac{\partial v_t}{\partial s_t}\sigma'_t\Big),\quad
    \frac{\partial L}{\partial v_{t-1}} = \beta \frac{\partial L}{\partial h_t}

(with a synaptic current, :math:`i_t = \alpha i_{t-1} + x_t` and
:math:`\partial L/\partial i_t = \partial L/\partial h_t + \alpha\,\partial L/\partial i_{t+1}`).

The time loop stays in Python, one call per chunk, so compilation does not grow with ``T`` (compiling the
unrolled whole loop took minutes at ``T = 100`` and was no faster: ``benchmarks/RESULTS.md``). The chunks
see ``[K, B * features]`` with a symbolic second size, so one compilation serves every layer width and batch
size: one per chunk length (:data:`CHUNK` and ``T mod CHUNK``), dtype, neuron constants, estimator and set
of incoming gradients; :func:`compile_seconds` sums the time of each specialisation's first call.
Numbers: the same as the reference up to the rounding of a fused step (inductor may contract
``beta v + i`` into one fused multiply-add): spikes equal on the tests' inputs, membranes and gradients to
float32 rounding. Scope (:func:`unsupported`): plain neurons (LIF, IF, CUBA; every reset, strict or not,
every estimator) on CPU tensors; adaptation and the neuron's own tensors run the reference.
"""

from __future__ import annotations

import functools
import time
from typing import Any

import torch

from spikegrad.functional.neuron import NeuronParameters, NeuronState, Reset, step_forward
from spikegrad.functional.scan import _through_reset
from spikegrad.grad.base import SpikeEstimator

CHUNK = 16
SPECIALISATIONS = 256
_first_calls: set[tuple] = set()
_compile_seconds = 0.0


def compile_seconds() -> float:
    """Seconds spent in the first call of every compiled specialisation so far in this process (compiling,
    plus one run of the chunk)."""
    return _compile_seconds


def unsupported(x: torch.Tensor, params: NeuronParameters, has_own_weights: bool) -> str | None:
    """Why the compiled scan cannot run this call (a sentence), or None."""
    if x.device.type != "cpu":
        return f"it compiles for the CPU; the input is on {x.device} (CUDA runs the Triton kernels)"
    if params.adaptation is not None or has_own_weights:
        return "it covers plain neurons; adaptation and the neuron's own tensors run the reference scan"
    return None


def _forward_chunk(x, v, i, params: NeuronParameters, estimator: SpikeEstimator):
    """``(h, s, v, i)`` of ``x[K, B, ...]`` from the state ``(v, i)``: K steps of the shared neuron."""
    state, membranes, spikes = NeuronState(v, i), [], []
    for k in range(x.shape[0]):
        h, s, state = step_forward(x[k], state, params, estimator)
        membranes.append(h)
        spikes.append(s)
    return torch.stack(membranes), torch.stack(spikes), state.v, state.i


def _backward_chunk(h, g_spikes, g_membrane, g_v, g_i, params: NeuronParameters, estimator: SpikeEstimator):
    """``(dL/dx, dL/dv, dL/di)`` of a chunk: ``h[K, B, ...]`` its membranes, ``g_v``/``g_i`` the gradients
    reaching the state after its last step (``g_i`` None without a synaptic current); ``g_spikes`` and
    ``g_membrane`` (``[K, B, ...]`` or None) those reaching its outputs. Returns the gradients reaching
    ``x`` and the state before its first step."""
    theta, alpha = params.threshold, params.syn_decay
    grads = []
    for k in range(h.shape[0] - 1, -1, -1):
        centred = h[k] - theta
        slope = estimator.derivative(centred)
        through = _through_reset(h[k], centred, slope, params, estimator, theta)
        g_h = g_v if through is None else g_v * through
        if g_spikes is not None:
            g_h = g_h + g_spikes[k] * slope
        if g_membrane is not None:
            g_h = g_h + g_membrane[k]
        g_v = g_h * params.mem_decay
        if alpha is not None:  # dL/di_t = dL/dh_t + alpha dL/di_{t+1}
            g_h = g_h + g_i
            g_i = g_h * alpha
        grads.append(g_h)
    return torch.stack(grads[::-1]), g_v, g_i


@functools.cache
def _compiled(function: Any) -> Any:
    return torch.compile(function, fullgraph=True, dynamic=True)


def _call(function: Any, key: tuple, *args: Any) -> Any:
    """``function(*args)`` compiled; the first call of each specialisation ``key`` is timed.

    Dynamo compiles a function at most 8 times by default, which several neuron types and two chunk lengths
    exceed (and ``fullgraph`` makes that an error): :data:`SPECIALISATIONS` is allowed while these run.
    """
    global _compile_seconds
    with torch._dynamo.config.patch(recompile_limit=SPECIALISATIONS):
        if key in _first_calls:
            return _compiled(function)(*args)
        started = time.perf_counter()
        result = _compiled(function)(*args)
    _compile_seconds += time.perf_counter() - started
    _first_calls.add(key)
    return result


def _chunks(steps: int) -> list[slice]:
    return [slice(start, min(start + CHUNK, steps)) for start in range(0, steps, CHUNK)]


class _CompiledScan(torch.autograd.Function):
    """Forward and backward of a plain neuron, chunk by compiled chunk: the inputs and outputs of
    :class:`~spikegrad.functional.scan._NeuronScan` called with five inputs."""

    @staticmethod
    def forward(ctx: Any, x, v0, i0, params: NeuronParameters, estimator: SpikeEstimator):  # type: ignore[override]
        ctx.set_materialize_grads(False)
        ctx.params, ctx.estimator = params, estimator
        shape = x.shape[1:]  # the chunks see every neuron of every sample as one flat dimension
        flat = x.reshape(x.shape[0], -1)
        v, i, membranes, spikes = v0.reshape(-1), None if i0 is None else i0.reshape(-1), [], []
        with torch.no_grad(), torch.autocast(x.device.type, enabled=False):
            for chunk in _chunks(x.shape[0]):
                key = ("forward", chunk.stop - chunk.start, x.dtype, params, estimator)
                h, s, v, i = _call(_forward_chunk, key, flat[chunk], v, i, params, estimator)
                membranes.append(h)
                spikes.append(s)
        membrane, spike_record = torch.cat(membranes).view(x.shape), torch.cat(spikes).view(x.shape)
        ctx.save_for_backward(membrane)
        v = v.view(shape)
        if params.reset is Reset.NONE:
            v = v.clone()  # as the reference: the state is not a view the caller could change the record through
        return spike_record, membrane, v, (i.view(shape) if i is not None else v.new_empty(0))

    @staticmethod
    def backward(ctx: Any, g_spikes, g_membrane, g_v, g_i):  # type: ignore[override]
        params: NeuronParameters = ctx.params
        (membrane,) = ctx.saved_tensors
        shape, steps = membrane.shape[1:], membrane.shape[0]
        membrane = membrane.view(steps, -1)
        g_spikes = None if g_spikes is None else g_spikes.reshape(steps, -1)
        g_membrane = None if g_membrane is None else g_membrane.reshape(steps, -1)
        g_v = torch.zeros_like(membrane[0]) if g_v is None else g_v.reshape(-1)
        if params.syn_decay is None:
            g_i = None
        else:
            g_i = torch.zeros_like(membrane[0]) if g_i is None or g_i.numel() == 0 else g_i.reshape(-1)
        grads = []
        for chunk in reversed(_chunks(steps)):
            key = ("backward", chunk.stop - chunk.start, membrane.dtype, params, ctx.estimator,
                   g_spikes is not None, g_membrane is not None)
            grad_x, g_v, g_i = _call(_backward_chunk, key, membrane[chunk],
                                     None if g_spikes is None else g_spikes[chunk],
                                     None if g_membrane is None else g_membrane[chunk], g_v, g_i, params, ctx.estimator)
            grads.append(grad_x)
        grad_i0 = None if g_i is None else g_i.view(shape)
        return torch.cat(grads[::-1]).view(steps, *shape), g_v.view(shape), grad_i0, None, None


def compiled_neuron_scan(x: torch.Tensor, v0: torch.Tensor, i0: torch.Tensor | None, params: NeuronParameters,
                         estimator: SpikeEstimator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(spikes, membrane, v, i)`` of a plain neuron over ``x[T, B, ...]``, compiled (module docstring);
    ``i`` is an empty tensor without a synaptic current. The caller checks :func:`unsupported` first."""
    return _CompiledScan.apply(x, v0, i0, params, estimator)
