r"""The neuron scan with its backward pass compiled for the CPU: :data:`CHUNK` steps fused into one loop (``--compile``).

The reference scan's backward (:class:`~spikegrad.functional.scan._NeuronScan`) runs every step as five to
eight elementwise ops, each a pass over ``[B, ...]`` through memory. Here :data:`CHUNK` steps of it are
traced through the same functions (the estimator's derivative, the reset's derivative
:func:`~spikegrad.functional.scan._through_reset`) and compiled by ``torch.compile`` (inductor), which fuses
the chunk into one loop that carries each neuron's incoming gradients through the chunk in registers: per
step it reads ``h_t`` and the gradients reaching the step's outputs and writes ``dL/dx_t``. The equations
are the reference's:

.. math::
    \frac{\partial L}{\partial h_t} = g^s_t \sigma'_t + g^h_t + \frac{\partial L}{\partial v_t}
        \Big(\frac{\partial v_t}{\partial h_t} + \frac{\partial v_t}{\partial s_t}\sigma'_t\Big),\qquad
    \frac{\partial L}{\partial v_{t-1}} = \beta \frac{\partial L}{\partial h_t}

(with a synaptic current, :math:`\partial L/\partial i_t = \partial L/\partial h_t + \alpha\,\partial L/
\partial i_{t+1}` and :math:`\partial L/\partial x_t = \partial L/\partial i_t`). The forward pass is the
reference's own (:func:`~spikegrad.functional.neuron.neuron_forward`): spikes, membranes and states are
identical; compiling it measured slower than the reference (``benchmarks/RESULTS.md``), so it is not.

The time loop stays in Python, one call per chunk, so compilation does not grow with ``T`` (compiling the
unrolled whole loop took minutes at ``T = 100`` and was no faster: ``benchmarks/RESULTS.md``). A chunk sees
``[K, B * features]`` with a symbolic second size, so one compilation serves every layer width and batch
size: one per chunk length (:data:`CHUNK` and ``T mod CHUNK``), dtype, neuron constants, estimator and set
of incoming gradients; :func:`compile_seconds` sums the time of each specialisation's first call.
Gradients: the reference's up to rounding (inductor may contract a multiply and an add into one fused
multiply-add), float32 rounding accumulated over the steps. Scope (:func:`unsupported`): plain neurons
(LIF, IF, CUBA; every reset, strict or not, every estimator) on CPU tensors; adaptation and the neuron's own
tensors run the reference.
"""

from __future__ import annotations

import functools
import time
from typing import Any

import torch

from spikegrad.functional.neuron import NeuronParameters
from spikegrad.functional.scan import _NeuronScan, _through_reset
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
    """Why the compiled backward cannot run this call (a sentence), or None."""
    if x.device.type != "cpu":
        return f"it compiles for the CPU; the input is on {x.device} (CUDA runs the Triton kernels)"
    if params.adaptation is not None or has_own_weights:
        return "it covers plain neurons; adaptation and the neuron's own tensors run the reference scan"
    return None


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
def _compiled_backward_chunk() -> Any:
    return torch.compile(_backward_chunk, fullgraph=True, dynamic=True)


def _call(key: tuple, *args: Any) -> Any:
    """:func:`_backward_chunk` compiled; the first call of each specialisation ``key`` is timed.

    Dynamo compiles a function at most 8 times by default, which several neuron types and two chunk lengths
    exceed (and ``fullgraph`` makes that an error): :data:`SPECIALISATIONS` is allowed while these run.
    """
    global _compile_seconds
    with torch._dynamo.config.patch(recompile_limit=SPECIALISATIONS):
        if key in _first_calls:
            return _compiled_backward_chunk()(*args)
        started = time.perf_counter()
        result = _compiled_backward_chunk()(*args)
    _compile_seconds += time.perf_counter() - started
    _first_calls.add(key)
    return result


def _chunks(steps: int) -> list[slice]:
    return [slice(start, min(start + CHUNK, steps)) for start in range(0, steps, CHUNK)]


class _CompiledScan(_NeuronScan):
    """The reference scan's forward (:class:`~spikegrad.functional.scan._NeuronScan`, plain neurons: five
    inputs, four outputs) with the backward pass chunk by compiled chunk."""

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
            key = (chunk.stop - chunk.start, membrane.dtype, params, ctx.estimator, g_spikes is not None,
                   g_membrane is not None)
            grad_x, g_v, g_i = _call(key, membrane[chunk],
                                     None if g_spikes is None else g_spikes[chunk],
                                     None if g_membrane is None else g_membrane[chunk], g_v, g_i, params, ctx.estimator)
            grads.append(grad_x)
        grad_i0 = None if g_i is None else g_i.view(shape)
        return torch.cat(grads[::-1]).view(steps, *shape), g_v.view(shape), grad_i0, None, None


def compiled_neuron_scan(x: torch.Tensor, v0: torch.Tensor, i0: torch.Tensor | None, params: NeuronParameters,
                         estimator: SpikeEstimator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(spikes, membrane, v, i)`` of a plain neuron over ``x[T, B, ...]``, its backward compiled (module docstring);
    ``i`` is an empty tensor without a synaptic current. The caller checks :func:`unsupported` first."""
    return _CompiledScan.apply(x, v0, i0, params, estimator)
