"""The fused Triton NA neighbour re-simulation against the reference streams (dense and settled-skipping)."""

from __future__ import annotations

import pytest
import torch

from spikegrad.errors import ConfigError
from spikegrad.kernels import use_backend
from spikegrad.rules.na import NAParameters, na_forward, neighbour_loss_changes
from spikegrad.rules.na.neighbours import Resimulation

pytestmark = pytest.mark.usefixtures("triton_kernels", "poisoned_memory")

PARAMS = {
    "lif": NAParameters(tau_m=5.0, tau_s=2.0, threshold=1.0),
    "lif-slow": NAParameters(tau_m=20.0, tau_s=4.0, threshold=0.7),
    "no-memory": NAParameters(tau_m=1.0),
    "if": NAParameters(tau_m=float("inf"), tau_s=3.0),
}


def _inputs(steps, neurons, seed=0, halves=False):
    """One forward pass and random spike weights; ``halves``: currents in steps of 0.5, so an IF membrane sits
    exactly on the threshold."""
    gen = torch.Generator().manual_seed(seed)
    currents = torch.randn(steps, neurons, generator=gen) * 0.9 + 0.4
    if halves:
        currents = torch.randint(-2, 3, (steps, neurons), generator=gen) * 0.5
    return currents, torch.randn(steps, neurons, generator=gen)


def _changes(backend, currents, weight, params, quadratic, method=Resimulation.DENSE):
    out = na_forward(currents, params)
    with use_backend(backend):
        return neighbour_loss_changes(currents, out.membrane, out.spikes, weight, params, quadratic=quadratic,
                                      method=method)


def _check(currents, weight, params, quadratic, method=Resimulation.DENSE):
    ref = _changes("reference", currents, weight, params, quadratic, method)
    ker = _changes("triton", currents, weight, params, quadratic)
    torch.testing.assert_close(ker.changes, ref.changes, rtol=1e-5, atol=1e-5)
    if quadratic:
        torch.testing.assert_close(ker.squares, ref.squares, rtol=1e-5, atol=1e-6)
    else:
        assert ker.squares is None
    steps, neurons = currents.shape
    assert ker.simulated_steps == neurons * steps * (steps - 1) // 2
    return ref


@pytest.mark.parametrize("quadratic", [False, True], ids=["linear", "quadratic"])
@pytest.mark.parametrize("params", PARAMS.values(), ids=PARAMS.keys())
def test_every_neuron_matches_the_reference(params, quadratic):
    currents, weight = _inputs(7, 67)
    ref = _check(currents, weight, params, quadratic)
    flips = (1 - 2 * na_forward(currents, params).spikes) * weight
    if params.mem_decay > 0:  # the problem has neighbours whose later spikes change (the chain effect)
        assert not torch.allclose(ref.changes, flips)


@pytest.mark.parametrize("method", [Resimulation.SETTLED, Resimulation.AUTO])
def test_the_settled_skipping_reference_agrees(method):
    currents, weight = _inputs(20, 90, seed=1)
    _check(currents, weight, PARAMS["lif-slow"], True, method)


@pytest.mark.parametrize("steps", [1, 2, 16, 37])
def test_one_step_and_several_neighbour_and_neuron_blocks(steps):
    """T = 1 and 2 (no later step, one), T = 16 (one full block of neighbours), T = 37 (three, the last masked);
    2 * BLOCK_N + 3 neurons (three programs, the last masked)."""
    from spikegrad.kernels.na_neighbours import BLOCK_N

    currents, weight = _inputs(steps, 2 * BLOCK_N + 3, seed=steps)
    _check(currents, weight, PARAMS["lif"], True)


def test_a_membrane_exactly_on_the_threshold_does_not_fire():
    """IF neurons fed halves land exactly on the threshold 1: the strict test decides every neighbour alike."""
    currents, weight = _inputs(9, 40, seed=3, halves=True)
    out = na_forward(currents, PARAMS["if"])
    assert (out.membrane == 1.0).any()
    _check(currents, weight, PARAMS["if"], True)


def test_na_delta_matches_through_the_rule_function():
    """The kernel inside NA's backward (first-order and exact estimates, both modes' weights)."""
    from spikegrad.rules.na import Faithful, Paper
    from spikegrad.rules.na.function import na_delta
    from spikegrad.rules.na.modes import LossChange

    currents, grad = _inputs(6, 2 * 5 * 3, seed=4)
    currents, grad = currents.view(6, 2, 5, 3), grad.view(6, 2, 5, 3)
    out = na_forward(currents, PARAMS["lif"])
    for rule, is_output in [(Faithful(), False), (Paper(LossChange.FIRST_ORDER), False), (Paper(exact_output=True), True)]:
        deltas = []
        for backend in ("reference", "triton"):
            with use_backend(backend):
                deltas.append(na_delta(grad, currents, out.membrane, out.spikes, PARAMS["lif"], rule, is_output))
        torch.testing.assert_close(deltas[1], deltas[0], rtol=1e-5, atol=1e-5)
        assert deltas[0].abs().sum() > 0


def test_unsupported_calls_raise_when_forced_and_fall_back_otherwise():
    currents, weight = _inputs(4, 5)
    with pytest.raises(ConfigError, match="float32"):
        _changes("triton", currents.double(), weight.double(), PARAMS["lif"], False)
    got = _changes("auto", currents.double(), weight.double(), PARAMS["lif"], False)  # CPU: the reference
    assert got.changes.dtype == torch.float64


def test_the_custom_op_passes_opcheck():
    from spikegrad.kernels.na_neighbours import na_neighbours_op

    currents, weight = _inputs(6, 9)
    spikes = na_forward(currents, PARAMS["lif"]).spikes
    torch.library.opcheck(na_neighbours_op, (currents, spikes, weight, 1.0, 0.8, 2.0, True))
    torch.library.opcheck(na_neighbours_op, (currents, spikes, weight, 0.7, 1.0, 4.0, False))
