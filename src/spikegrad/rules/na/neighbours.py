r"""Neighbour re-simulation of NA, vectorised over a neighbour axis (methods note B4.3-B4.5).

Neighbour ``k`` of a neuron is its waveform with the firing state at step ``k`` flipped by the minimal
input kick ``theta - u[k]`` (just above threshold if it was silent, exactly at threshold if it fired),
re-simulated to the end of the window with the stored input currents, so that later spikes may change
(the chain effect). After the flip its membrane is ``theta * s[k]``: held at threshold if a spike was
removed, reset to 0 if one was added. This equals a plain forward pass with ``I[k] += theta - u[k]``.

The original code loops over ``k`` and over time in Python with full-tensor clones: ``T (T - 1) / 2``
re-simulated LIF steps per neuron (10 at ``T = 5``, 190 at ``T = 20``), no matrix multiplication.
Here the neighbours are one batched re-simulation along a neighbour axis, in one of two ways
(:class:`Resimulation`; the results agree):

- **Dense.** All neighbours of a chunk ``k0 <= k < k1`` advance together; at step ``t`` only those already
  flipped (``k < t``, a prefix of the chunk) move, on plain contiguous slices. Cheapest for short windows.
- **Settled-skipping.** Until the original's next spike ``tau > k`` neither waveform resets, so the
  neighbour's potential is the original's plus ``lambda^(t-k) D`` with ``D = theta s[k] - v[k]`` (``v``
  after reset). If that never crosses threshold before ``tau`` and either there is no later original
  spike or the neighbour fires at ``tau`` too (both reset to 0 and coincide from then on), the flip
  changes no later spike. Two backward recursions give the bounds for all ``(k, neuron)`` in O(T) time
  (:func:`settled_neighbours`); pairs within a rounding margin of a bound are simulated. In the MNIST
  network 70-90 % of the neighbours are settled; the others, sorted by ``k``, are re-simulated together on
  gathered currents. The bookkeeping costs about as much as it saves at T = 50 (CPU, measured), so
  ``Resimulation.AUTO`` uses it from :data:`AUTO_SETTLED_FROM` steps on.

Either way the neighbour axis is cut into chunks of ``k`` so that a chunk's state stays within a memory
budget (:func:`chunk_size`).

:func:`neighbour_loss_changes` streams the neighbours' spike changes into the quantities the backward
pass needs, never storing the neighbours' spike trains; :func:`neighbour_spike_trains` re-simulates
every neighbour densely and stores all of them (the reference, for tests and analysis).
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from typing import NamedTuple

import torch

from spikegrad.errors import ConfigError, ShapeError
from spikegrad.rules.na.neuron import NAParameters, charge_fire_reset

DEFAULT_CHUNK_ELEMENTS = 2**22
"""Default budget of a chunk of the neighbour axis: ``chunk x neurons`` (neighbour, neuron) pairs."""

class Resimulation(enum.Enum):
    """Which neighbours :func:`neighbour_loss_changes` re-simulates (results agree either way)."""

    DENSE = "dense"  # all of them: T (T - 1) / 2 LIF steps per neuron, plain slices (cheapest for short windows)
    SETTLED = "settled"  # only those not provably settled, compacted (cheapest for long windows)
    AUTO = "auto"  # SETTLED from AUTO_SETTLED_FROM steps on, else DENSE


AUTO_SETTLED_FROM = 50
"""Window length from which ``Resimulation.AUTO`` skips settled neighbours (measured, benchmarks/bench_na_cost.py)."""

SETTLED_RTOL = {torch.float64: 1e-9, torch.float32: 1e-4, torch.bfloat16: 2e-2, torch.float16: 2e-2}
"""Relative margin around the settling bounds inside which a neighbour is simulated rather than skipped."""


def neighbour_schedule(steps: int, k0: int, k1: int) -> Iterator[tuple[int, int]]:
    """``(t, rows)`` for every step of the dense re-simulation of neighbours ``k0 <= k < k1``: at step ``t``
    the ``rows = min(t, k1) - k0`` neighbours flipped before ``t`` move one LIF step (in all,
    ``T (T - 1) / 2`` steps per neuron when ``k0 = 0, k1 = T``)."""
    for t in range(k0 + 1, steps):
        yield t, min(t, k1) - k0


def chunk_size(steps: int, neurons: int, chunk_elements: int | None = None) -> int:
    """Neighbours per chunk so that ``chunk x neurons <= chunk_elements`` (at least 1, at most ``steps``)."""
    budget = DEFAULT_CHUNK_ELEMENTS if chunk_elements is None else chunk_elements
    if budget < 1:
        raise ConfigError("chunk_elements", f"must be >= 1, got {budget}")
    return max(1, min(steps, budget // max(neurons, 1)))


def _check(currents: torch.Tensor, membrane: torch.Tensor, spikes: torch.Tensor) -> None:
    if currents.dim() < 2:
        raise ShapeError("currents", "[T, ...] (time first, at least 2 dims)", tuple(currents.shape))
    for name, tensor in (("membrane", membrane), ("spikes", spikes)):
        if tensor.shape != currents.shape:
            raise ShapeError(name, f"{list(currents.shape)} (the shape of the currents)", tuple(tensor.shape))


def _resimulate(
    currents: torch.Tensor, spikes: torch.Tensor, params: NAParameters, k0: int, k1: int
) -> Iterator[tuple[int, int, torch.Tensor]]:
    """Dense re-simulation. Yield ``(t, rows, fired)``: ``fired[rows, ...]`` (0/1 floats, a scratch buffer)
    are the spikes at step ``t`` of neighbours ``k0 .. k0 + rows - 1``, the ones flipped before ``t``."""
    shape = (k1 - k0, *currents.shape[1:])
    v, s = currents.new_empty(shape), currents.new_empty(shape)
    v[0] = params.threshold * spikes[k0]  # state right after neighbour k0's flip
    for t, rows in neighbour_schedule(currents.shape[0], k0, k1):
        charge_fire_reset(v[:rows], currents[t], params, out=(v[:rows], s[:rows], v[:rows]))  # u lives in v
        yield t, rows, s[:rows]
        if t < k1:
            torch.mul(spikes[t], params.threshold, out=v[t - k0])


def neighbour_spike_trains(
    currents: torch.Tensor, membrane: torch.Tensor, spikes: torch.Tensor, params: NAParameters
) -> torch.Tensor:
    """All neighbours' spike trains ``[K = T, T, ...]`` by dense re-simulation: ``[k]`` is neighbour ``k``'s.

    ``currents``, ``membrane`` (before reset) and ``spikes`` are one forward pass ``[T, ...]`` of
    :func:`~spikegrad.rules.na.neuron.na_forward`. Memory ``T x T x neurons``: for tests and analysis.
    """
    _check(currents, membrane, spikes)
    steps = currents.shape[0]
    trains = spikes.unsqueeze(0).repeat(steps, *([1] * spikes.dim()))
    index = torch.arange(steps)
    trains[index, index] = 1.0 - spikes
    for t, rows, fired in _resimulate(currents, spikes, params, 0, steps):
        trains[:rows, t] = fired
    return trains


class _Bounds(NamedTuple):
    """Per step ``k``: the settling bounds ``G[k]``, ``E[k]`` and the neighbour's kick ``D[k] = theta s[k] - v[k]``."""

    headroom: torch.Tensor
    needed: torch.Tensor
    kick: torch.Tensor
    rtol: float


def _settling_bounds(membrane: torch.Tensor, spikes: torch.Tensor, params: NAParameters) -> _Bounds:
    lam, theta = params.mem_decay, params.threshold
    steps = membrane.shape[0]
    big = torch.finfo(membrane.dtype).max / 64
    headroom, needed = torch.empty_like(membrane), torch.empty_like(membrane)  # G, E
    headroom[-1], needed[-1] = big, -big
    gap = torch.empty_like(membrane[0])
    for k in range(steps - 2, -1, -1):  # float arithmetic only: bool masks and where() are slow on the CPU
        torch.sub(theta, membrane[k + 1], out=gap)
        torch.minimum(gap, headroom[k + 1], out=headroom[k])
        headroom[k].div_(lam).add_(spikes[k + 1], alpha=big).clamp_(max=big)
        torch.lerp(needed[k + 1], gap, spikes[k + 1], out=needed[k])
        needed[k].div_(lam).clamp_(min=-big)
    kick = torch.addcmul(membrane, membrane, spikes, value=-1.0).neg_().add_(spikes, alpha=theta)  # theta s - v
    return _Bounds(headroom, needed, kick, SETTLED_RTOL.get(membrane.dtype, 1e-4))


def _is_settled(kick: torch.Tensor, headroom: torch.Tensor, needed: torch.Tensor, rtol: float, theta: float) -> torch.Tensor:
    """``D < G (1 - rtol) - tol`` and ``D > E (1 - rtol) + tol`` with ``tol = rtol (|D| + theta)``
    (``G >= 0`` and ``E < 0`` always)."""
    tolerance = kick.abs().add_(theta).mul_(rtol)
    quiet = torch.sub(headroom, tolerance, alpha=1.0 / (1.0 - rtol)).mul_(1.0 - rtol).gt_(kick)
    joins = torch.add(needed, tolerance, alpha=1.0 / (1.0 - rtol)).mul_(1.0 - rtol).lt_(kick)
    return quiet.bool() & joins.bool()


def settled_neighbours(membrane: torch.Tensor, spikes: torch.Tensor, params: NAParameters) -> torch.Tensor:
    r"""Which neighbours provably change no spike after their own step: bool ``[K = T, ...]``.

    With ``D[k] = theta s[k] - v[k]`` and ``tau`` the original's next spike after ``k``, neighbour ``k``
    is settled when ``D[k] <= G[k]`` (no neighbour spike before ``tau``) and either no ``tau`` exists or
    ``D[k] > E[k]`` (the neighbour fires at ``tau`` as well), where

    .. math::
        G[k] = \min_{k < t < \tau} (\vartheta - u[t])\,\lambda^{k-t},\qquad
        E[k] = (\vartheta - u[\tau])\,\lambda^{k-\tau}.

    Both follow from ``G[k] = min(theta - u[k+1], G[k+1]) / lambda`` and ``E[k] = E[k+1] / lambda`` when
    ``s[k+1] = 0``, and ``G[k] = +big``, ``E[k] = (theta - u[k+1]) / lambda`` when ``s[k+1] = 1`` ("no later
    spike" is ``E = -big``; ``big`` is a large finite number of the dtype). A neighbour within
    :data:`SETTLED_RTOL` of a bound counts as unsettled and is simulated (exact ties included).
    Decisions within rounding of the threshold may differ from a step-by-step simulation, as they may
    between a float32 and a float64 simulation; NaNs count as unsettled.
    """
    theta = params.threshold
    if params.mem_decay == 0.0:  # no membrane memory: a kick never reaches a later step
        return torch.ones_like(spikes, dtype=torch.bool)
    bounds = _settling_bounds(membrane, spikes, params)
    return _is_settled(bounds.kick, bounds.headroom, bounds.needed, bounds.rtol, theta)


class NeighbourChanges(NamedTuple):
    """What the backward pass needs from the neighbours (tensors ``[K = T, ...]`` indexed by ``k``).

    ``changes``: ``P[k] = sum_t (s_k[t] - s[t]) w[t]``; ``squares``: ``||a_k - a||^2`` over time, or None;
    ``simulated_steps``: LIF steps actually re-simulated, over all neurons (the dense count is
    ``neurons x T (T - 1) / 2``).
    """

    changes: torch.Tensor
    squares: torch.Tensor | None
    simulated_steps: int


def neighbour_loss_changes(
    currents: torch.Tensor,
    membrane: torch.Tensor,
    spikes: torch.Tensor,
    spike_weight: torch.Tensor,
    params: NAParameters,
    quadratic: bool = False,
    chunk_elements: int | None = None,
    method: Resimulation = Resimulation.AUTO,
) -> NeighbourChanges:
    r"""Stream every neighbour's spike change into ``P[k] = sum_t (s_k[t] - s[t]) w[t]``.

    With ``w = (filter adjoint of h) / tau_s`` this is ``h . (a_k - a)`` for any upstream vector ``h``
    (the trace ``a`` is a linear filter of the spikes), so the neighbours' traces are never formed.

    Args:
        currents: one forward pass's input currents, ``[T, neurons]`` (time first).
        membrane: the same pass's membrane potential before reset, ``[T, neurons]``.
        spikes: the same pass's spikes, ``[T, neurons]``.
        spike_weight: ``w[T, neurons]``, the loss sensitivity per spike and step.
        params: the neuron's constants.
        quadratic: also return ``Q[k] = ||a_k - a||^2`` over time (for the exact loss difference).
        chunk_elements: memory budget per chunk of the neighbour axis (see :func:`chunk_size`).
        method: dense or settled-skipping re-simulation (:class:`Resimulation`).
    """
    _check(currents, membrane, spikes)
    if spike_weight.shape != currents.shape:
        raise ShapeError("spike_weight", f"{list(currents.shape)} (the shape of the currents)", tuple(spike_weight.shape))
    steps = currents.shape[0]
    currents, membrane, spikes, spike_weight = (x.reshape(steps, -1).contiguous() for x in (currents, membrane, spikes, spike_weight))
    changes = torch.addcmul(spike_weight, spikes, spike_weight, value=-2.0)  # the flip at step k: (1 - 2 s[k]) w[k]
    later = torch.empty_like(changes)  # R[k] = sum_{t > k} s[t] w[t], the original's part of the later changes
    later[-1] = 0.0
    for t in range(steps - 2, -1, -1):
        torch.addcmul(later[t + 1], spikes[t + 1], spike_weight[t + 1], out=later[t])
    squares = None
    if quadratic:  # a settled neighbour differs at step k only: ||a_k - a||^2 = sum_{t >= k} (decay^(t-k) / tau_s)^2
        remaining = torch.arange(steps, 0, -1, dtype=currents.dtype, device=currents.device)
        decay2 = params.syn_decay**2
        geometric = (1.0 - decay2**remaining) / (1.0 - decay2) / params.tau_s**2
        squares = geometric.unsqueeze(1).expand_as(currents).clone()
    if method is Resimulation.AUTO:
        method = Resimulation.SETTLED if steps >= AUTO_SETTLED_FROM else Resimulation.DENSE
    chunk = chunk_size(steps, currents.shape[1], chunk_elements)
    simulated = 0
    if method is Resimulation.DENSE:
        for k0 in range(0, steps - 1, chunk):
            simulated += _simulate_dense(currents, spikes, spike_weight, params, k0, min(steps, k0 + chunk),
                                         changes, later, squares)
        return NeighbourChanges(changes, squares, simulated)
    if params.mem_decay == 0.0:  # no membrane memory: every neighbour is settled, only the flips count
        return NeighbourChanges(changes, squares, simulated)
    bounds = _settling_bounds(membrane, spikes, params)
    for k0 in range(0, steps - 1, chunk):
        k1 = min(steps, k0 + chunk)
        unsettled = ~_is_settled(bounds.kick[k0:k1], bounds.headroom[k0:k1], bounds.needed[k0:k1], bounds.rtol,
                                 params.threshold)
        pairs = unsettled.nonzero()  # sorted by k, then neuron
        if len(pairs) == 0:
            continue
        ks, ns = pairs[:, 0] + k0, pairs[:, 1].contiguous()
        simulated += _simulate_pairs(currents, spikes, spike_weight, params, ks, ns, changes, later, squares)
    return NeighbourChanges(changes, squares, simulated)


def _simulate_dense(
    currents: torch.Tensor,
    spikes: torch.Tensor,
    spike_weight: torch.Tensor,
    params: NAParameters,
    k0: int,
    k1: int,
    changes: torch.Tensor,
    later: torch.Tensor,
    squares: torch.Tensor | None,
) -> int:
    """Re-simulate every neighbour ``k0 <= k < k1``; add their later spike changes to ``changes`` (and
    overwrite ``squares``). Returns the steps simulated."""
    p = changes[k0:k1].sub_(later[k0:k1])  # sum_{t>k} s_k[t] w[t] is added below
    if squares is not None:
        trace_change = (1.0 - 2.0 * spikes[k0:k1]) / params.tau_s  # a_k - a at step k
        square_sum = squares[k0:k1]
        torch.square(trace_change, out=square_sum)
    simulated = 0
    for t, rows, fired in _resimulate(currents, spikes, params, k0, k1):
        p[:rows].addcmul_(fired, spike_weight[t])
        if squares is not None:
            ds = fired.sub_(spikes[t])
            trace_change[:rows].mul_(params.syn_decay).add_(ds, alpha=1.0 / params.tau_s)
            square_sum[:rows].add_(trace_change[:rows].square())
        simulated += rows * currents.shape[1]
    return simulated


def _simulate_pairs(
    currents: torch.Tensor,
    spikes: torch.Tensor,
    spike_weight: torch.Tensor,
    params: NAParameters,
    ks: torch.Tensor,
    ns: torch.Tensor,
    changes: torch.Tensor,
    later: torch.Tensor,
    squares: torch.Tensor | None,
) -> int:
    """Re-simulate neighbours ``(ks[i], ns[i])`` (``ks`` ascending) from their flip to the end of the window;
    add their later spike changes to ``changes`` (and overwrite ``squares``). Returns the steps simulated.

    (Retiring neighbours once they settle, by the same test at later steps, was tried: in the papers'
    networks few settle after their first steps, and the compaction cost more than it saved.)"""
    steps, neurons = currents.shape
    flat = ks * neurons + ns
    flip_spikes = spikes.view(-1).index_select(0, flat)
    v = flip_spikes * params.threshold  # membrane right after the flip
    p = later.view(-1).index_select(0, flat).neg_()  # sum_{t>k} s_k[t] w[t] is added below
    fired = torch.empty_like(v)
    if squares is not None:
        trace_change = (1.0 - 2.0 * flip_spikes) / params.tau_s  # a_k - a at step k
        square_sum = trace_change.square()
    active = torch.searchsorted(ks, torch.arange(steps, device=ks.device)).tolist()  # pairs with k < t
    simulated = 0
    for t in range(int(ks[0]) + 1, steps):
        rows = active[t]
        cols = ns[:rows]
        charge_fire_reset(v[:rows], currents[t].index_select(0, cols), params, out=(v[:rows], fired[:rows], v[:rows]))
        p[:rows].addcmul_(fired[:rows], spike_weight[t].index_select(0, cols))
        if squares is not None:
            ds = fired[:rows].sub_(spikes[t].index_select(0, cols))
            trace_change[:rows].mul_(params.syn_decay).add_(ds, alpha=1.0 / params.tau_s)
            square_sum[:rows].add_(trace_change[:rows].square())
        simulated += rows
    changes.view(-1).index_add_(0, flat, p)
    if squares is not None:
        squares.view(-1).index_copy_(0, flat, square_sum)
    return simulated
