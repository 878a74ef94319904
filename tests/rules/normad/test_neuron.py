import math

import pytest
import torch

from spikegrad.errors import ConfigError, ShapeError
from spikegrad.rules.normad.kernel import (
    DoubleExponentialKernel,
    response_increment,
    synaptic_traces,
)
from spikegrad.rules.normad.neuron import (
    WINDOW_STEPS,
    ContinuousLIFParameters,
    ContinuousLIFState,
    continuous_lif_scan,
)

PARAMS = ContinuousLIFParameters()
DT = 0.1


def _step_reference(drive, params, dt):
    """The model's recursion written step by step (module docstring of neuron.py)."""
    decay, refractory, gap = math.exp(-dt / params.tau_ms), params.refractory_steps(dt), params.gap_mv
    v, hold = torch.zeros_like(drive[0]), torch.zeros_like(drive[0])
    spikes, membrane = [], []
    for x in drive:
        u = torch.where(hold > 0, 0.0, decay * v + x)
        s = (u >= gap).to(drive.dtype)
        v, hold = u * (1 - s), torch.where(s > 0, float(refractory), (hold - 1).clamp(min=0))
        spikes.append(s)
        membrane.append(u + params.rest_mv)
    return torch.stack(spikes), torch.stack(membrane)


def test_constants_and_units():
    assert PARAMS.tau_ms == 10.0 and PARAMS.gap_mv == 90.0 and PARAMS.refractory_steps(DT) == 20
    # dV/dt at threshold with 9 nA: (9000 pA - 30 nS * 90 mV) / 300 pF = 21 mV/ms
    assert PARAMS.slope(torch.tensor(9000.0), 20.0).item() == pytest.approx(21.0)


@pytest.mark.parametrize("steps", [50, 5 * WINDOW_STEPS + 3])
def test_scan_matches_the_step_recursion(steps):
    generator = torch.Generator().manual_seed(steps)
    drive = torch.rand(steps, 3, 4, generator=generator, dtype=torch.float64) * torch.tensor([2.0, 6.0, 30.0])[:, None]
    out = continuous_lif_scan(drive, PARAMS, DT)
    spikes, membrane = _step_reference(drive, PARAMS, DT)
    assert out.spikes.sum() > 10
    assert torch.equal(out.spikes, spikes)
    torch.testing.assert_close(out.membrane_mv, membrane, rtol=0, atol=1e-10)


def test_refractory_period_holds_the_membrane_at_rest():
    drive = torch.full((60, 1, 1), 100.0, dtype=torch.float64)  # crosses threshold in every free step
    out = continuous_lif_scan(drive, PARAMS, DT)
    assert out.spikes[:, 0, 0].nonzero().flatten().tolist() == [0, 21, 42]
    assert (out.membrane_mv[1:21] == PARAMS.rest_mv).all()
    three_ms = continuous_lif_scan(drive, ContinuousLIFParameters(refractory_ms=3.0), DT)
    assert three_ms.spikes[:, 0, 0].nonzero().flatten().tolist() == [0, 31]


def test_split_scan_equals_whole_scan():
    generator = torch.Generator().manual_seed(0)
    drive = torch.rand(400, 2, 3, generator=generator, dtype=torch.float64) * 10
    whole = continuous_lif_scan(drive, PARAMS, DT)
    for split in (1, 137, 399):  # 137 and 399 cut through refractory periods
        first = continuous_lif_scan(drive[:split], PARAMS, DT)
        second = continuous_lif_scan(drive[split:], PARAMS, DT, first.state)
        assert torch.equal(torch.cat([first.spikes, second.spikes]), whole.spikes)
        torch.testing.assert_close(torch.cat([first.membrane_mv, second.membrane_mv]), whole.membrane_mv, rtol=0, atol=1e-10)
    torch.testing.assert_close(second.state.v_mv, whole.state.v_mv)


def test_b5_5_first_spike_of_a_20_na_synapse():
    """One input spike at 0 through a 20 nA synapse: first crossing at 4.1457 ms, dV/dt = 17.68 mV/ms."""
    dt = 0.001
    spikes = torch.zeros(6000, 1, 1, dtype=torch.float64)
    spikes[0] = 1.0
    kernel = DoubleExponentialKernel()
    traces = synaptic_traces(spikes, kernel, dt)
    out = continuous_lif_scan(response_increment(traces, kernel, PARAMS.tau_ms, PARAMS.capacitance_pf, dt) * 20000.0, PARAMS, dt)
    step = out.spikes[:, 0, 0].nonzero()[0].item()
    before, after = out.membrane_mv[step - 1 : step + 1, 0, 0].tolist()
    crossing_ms = (step - 1 + (PARAMS.threshold_mv - before) / (after - before)) * dt
    assert crossing_ms == pytest.approx(4.1457, abs=5e-4)  # the closed form gives 4.14542 ms
    slope = PARAMS.slope(20000.0 * traces.kappa[step, 0, 0], PARAMS.threshold_mv).item()
    assert slope == pytest.approx(17.68, abs=0.01)


def test_rejects_bad_parameters_and_state():
    with pytest.raises(ConfigError, match="capacitance_pf"):
        ContinuousLIFParameters(capacitance_pf=0.0)
    with pytest.raises(ConfigError, match="threshold_mv"):
        ContinuousLIFParameters(threshold_mv=-80.0)
    with pytest.raises(ShapeError, match="state"):
        continuous_lif_scan(torch.zeros(5, 2, 3), PARAMS, DT, ContinuousLIFState(torch.zeros(2, 2), torch.zeros(2, 2)))
