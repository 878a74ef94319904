"""Membrane-potential arithmetic and distance (methods note B4.2): oracles B10.4 and B10.5."""

from __future__ import annotations

import pytest
import torch

from spikegrad.errors import ShapeError
from spikegrad.rules.na import (
    NAParameters,
    input_current_of,
    membrane_add,
    membrane_distance,
    membrane_sub,
    na_forward,
    neighbour_spike_trains,
)

P = NAParameters(tau_m=5.0, tau_s=2.0, threshold=1.0)
ORACLE_I = torch.tensor([1.5, 0.3, 0.9], dtype=torch.float64)
TINY = 1e-9  # "just above threshold" when a spike is added


def _random_waveform(steps=12, batch=(3, 5)):
    currents = torch.randn(steps, *batch, dtype=torch.float64) * 0.8 + 0.4
    return currents, na_forward(currents, P).membrane


def test_b10_4_inverse_of_the_forward_pass():
    u = na_forward(ORACLE_I.view(3, 1), P).membrane
    torch.testing.assert_close(input_current_of(u, P).flatten(), ORACLE_I)
    currents, u = _random_waveform()
    torch.testing.assert_close(input_current_of(u, P), currents)


def test_b10_4_subtraction_inverts_addition():
    _, u = _random_waveform()
    eps = torch.randn_like(u) * 0.7
    torch.testing.assert_close(membrane_sub(membrane_add(u, eps, P), u, P), eps)
    torch.testing.assert_close(membrane_add(u, torch.zeros_like(u), P), u)


def test_b10_4_addition_oracle_with_chain_effect():
    u = na_forward(ORACLE_I.view(3, 1), P).membrane
    kick = torch.tensor([0.0, 0.7 + TINY, 0.0], dtype=torch.float64).view(3, 1)
    added = membrane_add(u, kick, P).flatten()
    # the new spike at step 2 resets the membrane, so step 3 sees only its own input: 1.14 -> 0.9
    torch.testing.assert_close(added, torch.tensor([1.5, 1.0 + TINY, 0.9], dtype=torch.float64))


def test_b10_4_distances_of_the_neighbours():
    out = na_forward(ORACLE_I.view(3, 1), P)
    u, s = out.membrane, out.spikes
    distances = []
    for k in range(3):
        kick = torch.zeros_like(u)
        kick[k] = (P.threshold - u[k]) + (TINY if s[k] == 0 else 0.0)
        distances.append(membrane_distance(u, membrane_add(u, kick, P), P).item())
    assert distances == pytest.approx([0.5, 0.7, 0.14], abs=1e-8)


@pytest.mark.parametrize("steps", [3, 7, 15])
def test_b10_5_neighbours_are_forward_passes_with_one_kicked_current(steps):
    currents = torch.randn(steps, 400, dtype=torch.float64) * 0.9 + 0.4
    out = na_forward(currents, P)
    trains = neighbour_spike_trains(currents, out.membrane, out.spikes, P)
    for k in range(steps):
        kicked = currents.clone()
        # remove a spike: land a hair below threshold (the neighbour holds at theta; later steps agree)
        kicked[k] += (P.threshold - out.membrane[k]) + torch.where(out.spikes[k] > 0, -TINY, TINY)
        torch.testing.assert_close(trains[k], na_forward(kicked, P).spikes)


def test_oracle_neighbour_waveforms_via_addition_match_the_neighbour_trains():
    out = na_forward(ORACLE_I.view(3, 1), P)
    trains = neighbour_spike_trains(ORACLE_I.view(3, 1), out.membrane, out.spikes, P)
    for k in range(3):
        kick = torch.zeros_like(out.membrane)
        kick[k] = (P.threshold - out.membrane[k]) + (TINY if out.spikes[k] == 0 else 0.0)
        waveform = membrane_add(out.membrane, kick, P)
        torch.testing.assert_close((waveform > P.threshold).double(), trains[k])


def test_shape_errors_name_the_argument():
    with pytest.raises(ShapeError, match="eps"):
        membrane_add(torch.zeros(4, 2), torch.zeros(4, 3), P)
    with pytest.raises(ShapeError, match="u_prime"):
        membrane_sub(torch.zeros(3, 2), torch.zeros(4, 2), P)
