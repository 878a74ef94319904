import pytest
import torch

from spikegrad.data.problems.spike_mapping import (
    CountTarget,
    FixedTarget,
    PoissonTarget,
    SpikeMappingConfig,
    spike_mapping,
)
from spikegrad.data.problems.xor import XORConfig, xor_problem, xor_solved
from spikegrad.errors import ConfigError


def _times_ms(train, dt=0.1):
    return [round(t * dt, 6) for t in train.nonzero().flatten().tolist()]


def test_mapping_is_seeded_and_has_the_requested_rates():
    config = SpikeMappingConfig(n_inputs=200, n_outputs=3, duration_ms=1000.0, input_rate_hz=20.0, target=PoissonTarget(20.0, 10.0))
    problem = spike_mapping(config, seed=4)
    again = spike_mapping(config, seed=4)
    assert torch.equal(problem.inputs, again.inputs) and torch.equal(problem.desired, again.desired)
    assert not torch.equal(problem.inputs, spike_mapping(config, seed=5).inputs)
    assert problem.inputs.shape == (10000, 1, 200) and problem.desired.shape == (10000, 1, 3)
    assert problem.inputs.sum().item() / 200 == pytest.approx(20.0, rel=0.1)  # spikes per input per second
    for column in range(3):
        times = _times_ms(problem.desired[:, 0, column])
        assert times[0] >= config.onset_ms and all(b - a >= 10.0 - 1e-9 for a, b in zip(times, times[1:]))
        assert 5 <= len(times) <= 30  # 20 Hz with 10 ms dead time: about 13 per second


def test_count_and_fixed_targets():
    config = SpikeMappingConfig(n_inputs=5, duration_ms=100.0, target=CountTarget(4, 15.0))
    times = _times_ms(spike_mapping(config, seed=0).desired[:, 0, 0])
    assert len(times) == 4 and all(b - a >= 15.0 - 0.1 for a, b in zip(times, times[1:]))
    fixed = spike_mapping(SpikeMappingConfig(n_inputs=5, duration_ms=100.0, target=FixedTarget((12.0, 57.3))), seed=0)
    assert _times_ms(fixed.desired[:, 0, 0]) == [12.0, 57.3]
    with pytest.raises(ConfigError, match="count"):
        spike_mapping(SpikeMappingConfig(n_inputs=5, duration_ms=30.0, target=CountTarget(5, 10.0)), seed=0)
    with pytest.raises(ConfigError, match="input_rate_hz"):
        SpikeMappingConfig(input_rate_hz=20000.0)


def test_xor_encoding():
    config = XORConfig(delays_ms=(0.0, 3.0))
    problem = xor_problem(config)
    assert problem.inputs.shape == (250, 4, 6) and problem.desired.shape == (250, 4, 1)
    # pattern (0, 1): bit A early, bit B late, reference at 0; each source seen at +0 and +3 ms
    assert [_times_ms(problem.inputs[:, 1, n]) for n in range(6)] == [[0.0], [3.0], [6.0], [9.0], [0.0], [3.0]]
    assert [_times_ms(problem.desired[:, b, 0]) for b in range(4)] == [[16.0], [10.0], [10.0], [16.0]]
    with pytest.raises(ConfigError):
        XORConfig(true_target_ms=16.0, false_target_ms=16.0)
    with pytest.raises(ConfigError):
        XORConfig(delays_ms=(30.0,))


def test_xor_solved_needs_one_spike_within_tolerance():
    config = XORConfig()
    desired = xor_problem(config).desired
    observed = torch.zeros_like(desired)
    observed[100 + 9, 1, 0] = 1.0  # 10.9 ms for a 10 ms target: within 1 ms
    observed[100 + 11, 2, 0] = 1.0  # 11.1 ms: too late
    observed[[160, 200], 0, 0] = 1.0  # right, plus an extra spike
    observed[155, 3, 0] = 1.0  # 15.5 ms for 16 ms
    assert xor_solved(desired, observed, config).tolist() == [False, True, False, True]
