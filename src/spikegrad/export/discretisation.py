r"""How spikegrad's discrete neurons and NIR's continuous nodes map onto each other: units, decay, gain, threshold.

**Units.** NIR has no unit system; by the convention of every library that reads it, time constants and
delays are in **seconds**. spikegrad's modules keep theirs in **milliseconds** (``tau_mem``, ``dt``,
``AxonalDelay.ts``). Membrane, threshold and input share one arbitrary unit on both sides.

**Discretisation.** NIR's leaky nodes are ODEs, e.g. ``LIF``: :math:`\tau \dot v = (v_{leak} - v) + R I`.
A simulator running at a step ``dt`` (seconds) must discretise them; spikegrad writes and reads graphs for
the **forward-Euler** step at a stated ``dt`` (stored in the graph's metadata as ``dt``), the convention of
snnTorch's NIR exporter and importer (which fix ``dt = 1e-4`` s); Norse's importer also steps by Euler at
its ``dt`` argument but ignores ``R`` (input gain ``dt/tau``), so graphs written here do not run unchanged in
Norse, while graphs Norse writes (``R = 1``) are read here with their gain folded in (see below):

.. math::
    v_t = v_{t-1} + \frac{dt}{\tau}\,\bigl(v_{leak} - v_{t-1} + R\, I_t\bigr)
        = \Bigl(1 - \frac{dt}{\tau}\Bigr) v_{t-1} + \frac{R\,dt}{\tau}\, I_t \qquad (v_{leak} = 0)

spikegrad's neuron is :math:`v_t = \beta v_{t-1} + x_t` with :math:`\beta = e^{-dt_{ms}/\tau_{mem}}`, so
the exact map is

.. math::
    \tau_{NIR} = \frac{dt}{1 - \beta}, \qquad R = \frac{\tau_{NIR}}{dt} = \frac{1}{1 - \beta}
    \qquad\text{(decay } 1 - dt/\tau_{NIR} = \beta\text{, input gain } R\,dt/\tau_{NIR} = 1\text{)}.

``tau_NIR`` is therefore not ``tau_mem`` converted to seconds: it is ``dt / (1 - exp(-dt/tau_mem))``, about
``tau_mem + dt/2`` (10.5 ms for ``tau_mem = 10`` ms at ``dt = 1`` ms). A simulator that integrates the ODE
exactly (decay ``exp(-dt/tau_NIR)``) instead of by Euler sees a slightly slower leak; one that runs at
another ``dt`` than the graph's sees another network altogether (snnTorch 1.0.0 always assumes
:data:`SNNTORCH_DT`, so export for it with ``dt=SNNTORCH_DT``). The same map holds for the synaptic current
of ``CubaLIF`` (``tau_syn = dt/(1 - alpha)``, ``w_in = tau_syn/dt``), whose updated current drives the
membrane in the same step (``i_t = alpha i_{t-1} + x_t``, ``v_t = beta v_{t-1} + i_t``, as snnTorch's
``Synaptic``); for the non-leaky ``IF`` and ``I`` nodes (:math:`\dot v = R I`) it is ``R = 1/dt``.
Reading a foreign graph, an input gain ``g = R dt / tau`` (or ``R dt``; for CubaLIF the product of both
stages) other than 1 is folded into the threshold (the membrane is scaled by ``1/g``, which leaves the
spikes of a neuron with ``v_leak = v_reset = 0`` unchanged).

**Threshold.** NIR fires when :math:`v > v_{thr}` (strict). spikegrad's neurons fire when
:math:`h \ge \vartheta` (``H(0) = 1``) unless a neuron says otherwise, which :func:`fires_at_threshold`
finds out by running it. A neuron that fires at equality is written with ``v_thr`` = the largest float32
below ``theta``: in float32 arithmetic ``v > v_thr`` is then exactly ``v >= theta``. Reading, the inverse
step (the smallest float32 above ``v_thr``) gives back ``theta``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn

from spikegrad.errors import ExportError

SNNTORCH_DT = 1e-4
"""The time step in seconds that snnTorch 1.0.0's NIR importer and exporter assume (fixed in its code)."""

SECONDS_PER_MS = 1e-3


def require_nir() -> Any:
    """The ``nir`` module, or an :class:`ExportError` saying how to install it (the ``spikegrad[nir]`` extra)."""
    try:
        import nir
    except ImportError:
        raise ExportError("nir", "the NIR package is not installed; install it with: pip install 'spikegrad[nir]'") from None
    return nir


def euler_tau(decay: float, dt: float) -> float:
    """NIR time constant (s) whose forward-Euler decay at step ``dt`` (s) is ``decay``: ``dt / (1 - decay)``."""
    return dt / (1.0 - decay)


def euler_decay(tau: float, dt: float) -> float:
    """Per-step decay of a NIR time constant ``tau`` (s) under forward Euler at step ``dt`` (s): ``1 - dt/tau``."""
    return 1.0 - dt / tau


def tau_ms(decay: float, dt_ms: float) -> float:
    """spikegrad's time constant (ms) with ``exp(-dt_ms / tau) = decay``; ``inf`` for ``decay = 1``."""
    return math.inf if decay == 1.0 else -dt_ms / math.log(decay)


def nir_threshold(theta: float, fires_at_equality: bool) -> float:
    """NIR's ``v_threshold`` (fires at ``v > v_thr``) for a neuron firing at ``h >= theta`` (or ``> theta``).

    Firing at equality: the largest float32 below ``float32(theta)``, as a float; otherwise ``theta``.
    """
    value = np.float32(theta)
    return float(np.nextafter(value, np.float32(-np.inf))) if fires_at_equality else float(theta)


def spikegrad_threshold(v_threshold: float) -> float:
    """spikegrad's ``theta`` (fires at ``h >= theta``) for NIR's strict ``v > v_threshold``.

    The smallest float32 above ``float32(v_threshold)``: in float32 arithmetic ``h >= theta`` is exactly
    ``h > v_threshold``.
    """
    return float(np.nextafter(np.float32(v_threshold), np.float32(np.inf)))


@torch.no_grad()
def fires_at_threshold(neuron: nn.Module, threshold: float) -> bool:
    """Whether ``neuron`` spikes when its membrane equals ``threshold`` exactly (``H(0) = 1``).

    Runs one step from the zero state with input ``threshold``: the membrane before reset is then the input
    itself for every neuron of the shared equation (``h = beta * 0 + i``, ``i = alpha * 0 + x``). Asking the
    module rather than reading a flag keeps this right when the neuron's options change.
    """
    probe = torch.full((1, 1, 1), float(np.float32(threshold)))
    spikes, _ = neuron(probe)
    return bool(spikes.reshape(-1)[0] > 0)


def uniform(values: Any, what: str, where: str) -> float:
    """The single value of a per-neuron NIR parameter; an :class:`ExportError` when neurons differ.

    spikegrad's neuron layers share one threshold and one time constant per layer.
    """
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    if array.size == 0:
        raise ExportError(where, f"{what} is empty")
    if not np.all(array == array[0]):
        raise ExportError(
            where, f"{what} differs between neurons ({array.min()} to {array.max()}); spikegrad's neuron layers "
            "share one value per layer"
        )
    return float(array[0])
