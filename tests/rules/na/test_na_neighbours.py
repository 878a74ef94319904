"""Neighbour re-simulation (methods note B4.3-B4.5): oracle B10.3 (chain effect), B10.9 (cost), and the
dense and settled-skipping re-simulations against each other and against stored neighbour trains."""

from __future__ import annotations

import pytest
import torch

from spikegrad.errors import ConfigError, ShapeError
from spikegrad.rules.na import (
    NAParameters,
    na_forward,
    neighbour_loss_changes,
    neighbour_schedule,
    neighbour_spike_trains,
    synaptic_trace,
)
from spikegrad.rules.na.neighbours import Resimulation, chunk_size, settled_neighbours

P = NAParameters(tau_m=5.0, tau_s=2.0, threshold=1.0)
ORACLE_I = torch.tensor([1.5, 0.3, 0.9], dtype=torch.float64).view(3, 1)


def test_b10_3_neighbours_with_the_chain_effect():
    out = na_forward(ORACLE_I, P)
    trains = neighbour_spike_trains(ORACLE_I, out.membrane, out.spikes, P).squeeze(-1)
    expected = torch.tensor([[0, 1, 0], [1, 1, 0], [1, 0, 0]], dtype=torch.float64)
    torch.testing.assert_close(trains, expected)
    traces = synaptic_trace(trains.T.unsqueeze(-1), P).squeeze(-1).T  # one trace per neighbour
    torch.testing.assert_close(traces, torch.tensor([[0, 0.5, 0.25], [0.5, 0.75, 0.375], [0.5, 0.25, 0.125]],
                                                    dtype=torch.float64))
    target = torch.tensor([0.5, 0.75, 0.875], dtype=torch.float64)
    losses = 0.5 * (traces - target).square().sum(1)
    torch.testing.assert_close(losses, torch.tensor([0.3515625, 0.125, 0.40625], dtype=torch.float64))


@pytest.mark.parametrize("steps", [1, 2, 5, 20])
def test_b10_9_dense_schedule_costs_t_times_t_minus_1_over_2(steps):
    assert sum(rows for _, rows in neighbour_schedule(steps, 0, steps)) == steps * (steps - 1) // 2
    for chunk in (1, 3):  # chunking the neighbour axis does not change the work
        total = sum(rows for k0 in range(0, steps, chunk) for _, rows in neighbour_schedule(steps, k0, min(steps, k0 + chunk)))
        assert total == steps * (steps - 1) // 2
    currents = torch.randn(steps, 50, dtype=torch.float64)
    out = na_forward(currents, P)
    dense = neighbour_loss_changes(currents, out.membrane, out.spikes, torch.ones_like(currents), P,
                                   method=Resimulation.DENSE)
    assert dense.simulated_steps == 50 * steps * (steps - 1) // 2
    settled = neighbour_loss_changes(currents, out.membrane, out.spikes, torch.ones_like(currents), P,
                                     method=Resimulation.SETTLED)
    assert settled.simulated_steps <= dense.simulated_steps


def _reference_changes(currents, out, weight):
    trains = neighbour_spike_trains(currents, out.membrane, out.spikes, P)  # [K, T, N]
    changes = ((trains - out.spikes) * weight).sum(1)
    trace_changes = torch.stack([synaptic_trace(trains[k] - out.spikes, P) for k in range(len(trains))])
    return changes, trace_changes.square().sum(1)


def _inputs(steps, neurons=600, dtype=torch.float64, seed=0):
    generator = torch.Generator().manual_seed(seed)
    currents = (torch.randn(steps, neurons, generator=generator) * 0.9 + 0.4).to(dtype)
    currents[:, : neurons // 4] = (torch.randint(-2, 4, (steps, neurons // 4), generator=generator) * 0.5).to(dtype)  # ties
    return currents, torch.randn(steps, neurons, generator=generator).to(dtype)


@pytest.mark.parametrize("method", [Resimulation.DENSE, Resimulation.SETTLED, Resimulation.AUTO])
@pytest.mark.parametrize("steps", [2, 5, 16])
@pytest.mark.parametrize("chunk_elements", [None, 500])
def test_streamed_changes_equal_the_stored_neighbours(method, steps, chunk_elements):
    currents, weight = _inputs(steps)
    out = na_forward(currents, P)
    changes, squares = _reference_changes(currents, out, weight)
    got = neighbour_loss_changes(currents, out.membrane, out.spikes, weight, P, quadratic=True,
                                 chunk_elements=chunk_elements, method=method)
    torch.testing.assert_close(got.changes, changes)
    torch.testing.assert_close(got.squares, squares)
    plain = neighbour_loss_changes(currents, out.membrane, out.spikes, weight, P, chunk_elements=chunk_elements,
                                   method=method)
    torch.testing.assert_close(plain.changes, changes)
    assert plain.squares is None


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("params", [P, NAParameters(tau_m=20.0, tau_s=4.0, threshold=0.7), NAParameters(tau_m=1.0)])
def test_settled_neighbours_change_no_later_spike(dtype, params):
    for seed in range(3):
        currents, _ = _inputs(24, neurons=500, dtype=dtype, seed=seed)
        out = na_forward(currents, params)
        trains = neighbour_spike_trains(currents, out.membrane, out.spikes, params)
        later = torch.ones(24, 24, dtype=torch.bool).triu(1).unsqueeze(-1)  # [k, t]: t > k
        changed = ((trains != out.spikes) & later).any(1)
        settled = settled_neighbours(out.membrane, out.spikes, params)
        assert not (settled & changed).any()
        assert settled.float().mean() > 0.3  # the shortcut skips a good share of the work
        assert settled[-1].all()  # nothing follows the last step


def test_float32_streams_agree_with_float64():
    currents, weight = _inputs(12, neurons=2000)
    out64 = na_forward(currents, P)
    out32 = na_forward(currents.float(), P)
    ref = neighbour_loss_changes(currents, out64.membrane, out64.spikes, weight, P).changes
    for method in (Resimulation.DENSE, Resimulation.SETTLED):
        got = neighbour_loss_changes(currents.float(), out32.membrane, out32.spikes, weight.float(), P, method=method)
        assert (got.changes.double() - ref).abs().max() < 1e-4


def test_chunk_size_and_errors():
    assert chunk_size(20, 1000, 5000) == 5
    assert chunk_size(20, 10**9, 5000) == 1
    assert chunk_size(20, 10, 10**6) == 20
    with pytest.raises(ConfigError):
        chunk_size(5, 10, 0)
    x = torch.zeros(4, 3)
    with pytest.raises(ShapeError, match="spike_weight"):
        neighbour_loss_changes(x, x, x, torch.zeros(4, 2), P)
    with pytest.raises(ShapeError, match="membrane"):
        neighbour_spike_trains(x, torch.zeros(3, 3), x, P)
