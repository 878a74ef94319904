"""The multi-layer NormAD hidden rule with many events at once (issue 19): several hidden spikes and near
misses per neuron, several error instants of both signs, two hidden layers, two batch elements.

The expected directions come from a plain loop over the module docstring's formulas, one error instant and
one handle at a time, written independently of the vectorised code: with a single event the normalisation
hides any scale error, so only many events check the magnitudes (output weights, the 1/V-dot gains of the
layer coupling, the near-miss strength)."""

from __future__ import annotations

import math

import pytest
import torch

from spikegrad.rules.normad.multilayer import (
    HiddenEvents,
    HiddenParameters,
    SpikeEvents,
    hidden_directions,
    hidden_events,
)
from spikegrad.rules.normad.neuron import ContinuousLIFParameters

NEURON = ContinuousLIFParameters()
T, B, SIZES = 40, 2, [5, 4, 3, 2]  # input 5 -> hidden 4 -> hidden 3 -> output 2


def _scenario(seed: int):
    g = torch.Generator().manual_seed(seed)
    f64 = torch.float64
    weights = [torch.randn(n_out, n_in, generator=g, dtype=f64) * 3000 for n_in, n_out in zip(SIZES, SIZES[1:])]
    # hidden activity: a few spikes per neuron; membranes with sub-threshold bumps for near misses
    spikes = [(torch.rand(T, B, n, generator=g) < 0.12).to(f64) for n in SIZES[1:3]]
    membranes = [NEURON.threshold_mv - 6.0 * torch.rand(T, B, n, generator=g, dtype=f64) for n in SIZES[1:3]]
    kappas = [torch.rand(T, B, n, generator=g, dtype=f64) for n in SIZES[:2]]  # the layers' input traces
    dhats = [torch.rand(T, B, n, generator=g, dtype=f64) * 1e-3 for n in SIZES[:2]]
    errors = SpikeEvents(torch.tensor([30, 35, 22, 39, 31]), torch.tensor([0, 0, 1, 1, 0]), torch.tensor([0, 1, 1, 0, 1]))
    sign = torch.tensor([1.0, -1.0, 1.0, 1.0, -1.0], dtype=f64)
    lags = torch.arange(T, dtype=f64)
    tables = (torch.exp(-lags / 4.0) * lags / 4.0 * 1e-3, torch.exp(-lags / 4.0) * (1 - lags / 4.0) * 1e-3 / 4.0)
    return weights, spikes, membranes, kappas, dhats, errors, sign, tables


def _gain_by_hand(spike: bool, t: int, b: int, i: int, layer: int, scenario, params: HiddenParameters) -> float:
    weights, _, membranes, kappas, _, _, _, _ = scenario
    if spike:  # -1 / max(dV/dt, floor), dV/dt = (I - g_L (V_T - E_L)) / C at the spike
        current = sum(kappas[layer][t, b, j].item() * weights[layer][i, j].item() for j in range(SIZES[layer]))
        slope = (current - NEURON.leak_conductance_ns * (NEURON.threshold_mv - NEURON.rest_mv)) / NEURON.capacitance_pf
        return -1.0 / max(slope, params.min_slope_mv_per_ms)
    distance = NEURON.threshold_mv - membranes[layer][t, b, i].item()
    beta = params.near_miss_scale_mv
    return 1.0 / (beta * (1.0 + distance / beta) ** 2)


def _response(spike: bool, lag: int, tables) -> float:
    """dV(t)/dh per unit weight at ``lag`` steps after a handle: -g' for a moved spike, g for an added one."""
    if lag < 0:
        return 0.0
    return -tables[1][lag].item() if spike else tables[0][lag].item()


def _expected_directions(hidden: list[HiddenEvents], scenario) -> list[torch.Tensor]:
    weights, _, _, _, dhats, errors, sign, tables = scenario
    handles = [list(zip(h.events.step.tolist(), h.events.batch.tolist(), h.events.neuron.tolist(),
                        h.gain.tolist(), h.is_spike.tolist())) for h in hidden]
    directions = [torch.zeros_like(w) for w in weights[:-1]]
    for e in range(len(errors.step)):
        t_e, b_e, k = errors.step[e].item(), errors.batch[e].item(), errors.neuron[e].item()
        # S[s] = dV_k(t_e)/dh_s over the last hidden layer's handles
        sensitivity = [weights[-1][k, i].item() * _response(spike, t_e - t, tables) if b == b_e else 0.0
                       for t, b, i, _, spike in handles[-1]]
        for layer in range(len(hidden) - 1, -1, -1):
            jacobian = torch.zeros_like(weights[layer])
            for (t, b, i, gain, _), s_value in zip(handles[layer], sensitivity):
                for j in range(weights[layer].shape[1]):
                    jacobian[i, j] += s_value * gain * dhats[layer][t, b, j].item()
            norm = math.sqrt(float((jacobian ** 2).sum()))
            if norm > 0:
                directions[layer] += sign[e].item() * jacobian / norm
            if layer > 0:  # S[s'] = sum_s S[s] * gain_s * w[i_s, i_s'] * r_s'(t_s - t_s'), same batch only
                sensitivity = [sum(s_value * gain * weights[layer][i, i2].item() * _response(spike2, t - t2, tables)
                                   for (t, b, i, gain, _), s_value in zip(handles[layer], sensitivity) if b == b2)
                               for t2, b2, i2, _, spike2 in handles[layer - 1]]
    return directions


@pytest.mark.parametrize("near_miss_mv", [None, 4.0])
@pytest.mark.parametrize("seed", [0, 1])
def test_hidden_directions_with_many_events_equal_the_loop_over_the_formulas(seed, near_miss_mv):
    scenario = _scenario(seed)
    weights, spikes, membranes, kappas, dhats, errors, sign, tables = scenario
    params = HiddenParameters(near_miss_mv=near_miss_mv)
    hidden = [hidden_events(spikes[layer], membranes[layer], weights[layer], kappas[layer], NEURON, params)
              for layer in range(2)]
    for layer, handles in enumerate(hidden):  # the gains, by hand
        events = handles.events
        assert int(handles.is_spike.sum()) >= 8 and (near_miss_mv is None or int((~handles.is_spike).sum()) >= 5)
        for index in range(len(events.step)):
            expected = _gain_by_hand(bool(handles.is_spike[index]), events.step[index].item(), events.batch[index].item(),
                                     events.neuron[index].item(), layer, scenario, params)
            assert handles.gain[index].item() == pytest.approx(expected, rel=1e-12)
    directions = hidden_directions(errors, sign, hidden, weights, dhats, tables)
    expected = _expected_directions(hidden, scenario)
    for got, want in zip(directions, expected):
        assert want.abs().sum() > 0
        torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-12)
