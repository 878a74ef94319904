"""Bad tensors at the library's boundary (issue 18): typed errors naming the tensor, at the call that got them."""

from __future__ import annotations

import pytest
import torch

from spikegrad.errors import InputError, ShapeError
from spikegrad.functional.neuron import LIFParameters, NeuronState
from spikegrad.functional.scan import neuron_scan
from spikegrad.grad import ATan
from spikegrad.nn import CUBA, IF, LIF, Dense, SNNSequential
from spikegrad.nn.base import recording
from spikegrad.nn.spec import NeuronSpec
from spikegrad.rules.registry import rule_type
from spikegrad.rules.slayer.layers import SRMSpec
from spikegrad.rules.slayer.srm import SRMParameters
from spikegrad.types import allow_non_finite


def _neurons():
    return {
        "LIF": LIF(), "IF": IF(), "CUBA": CUBA(),
        "Lee": rule_type("lee")().layer(NeuronSpec(LIFParameters(tau_mem=20.0))),
        "NA": rule_type("na")().layer(NeuronSpec(LIFParameters(tau_mem=5.0), trace_tau=2.0)),
        "SRM": rule_type("slayer")().layer(SRMSpec(SRMParameters(theta=10.0, tau_sr=1.0, ts=1.0))),
    }


@pytest.mark.parametrize("name", sorted(_neurons()))
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_every_neuron_refuses_non_finite_input_unless_allowed(name, bad):
    neuron = _neurons()[name]
    x = torch.rand(6, 2, 4)
    x[3, 1, 2] = bad
    with pytest.raises(InputError, match="holds NaN or inf"):
        neuron(x)
    with allow_non_finite():
        out, _ = neuron(x)  # on purpose: passed through as the maths does with it
    assert out.shape[:2] == (6, 2)
    with pytest.raises(InputError):  # the switch is restored after the block
        neuron(x)


@pytest.mark.parametrize("name", sorted(_neurons()))
@pytest.mark.parametrize("shape", [(0, 2, 4), (5, 0, 4), (5,)])
def test_every_neuron_refuses_empty_time_or_batch_axes(name, shape):
    with pytest.raises(ShapeError):
        _neurons()[name](torch.zeros(shape))


@pytest.mark.parametrize("name", sorted(_neurons()))
@pytest.mark.parametrize("dtype", [torch.int64, torch.bool, torch.complex64, torch.uint8])
def test_every_neuron_refuses_non_float_input(name, dtype):
    with pytest.raises(InputError, match=f"got {dtype}"):
        _neurons()[name](torch.zeros(5, 2, 4, dtype=dtype))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_other_float_dtypes_run(dtype):
    spikes, state = LIF()(torch.full((5, 2, 4), 0.6, dtype=dtype))
    assert spikes.dtype == dtype and spikes.sum() > 0


def test_a_state_of_the_wrong_type_is_named():
    with pytest.raises(InputError, match="state: expected a NeuronState"):
        LIF()(torch.rand(4, 2, 3), torch.zeros(2, 3))
    with pytest.raises(InputError, match="state"):
        neuron_scan(torch.rand(4, 2, 3), LIFParameters(), ATan(), state=(torch.zeros(2, 3), None))
    out = neuron_scan(torch.rand(4, 2, 3), LIFParameters(), ATan(), state=NeuronState(torch.zeros(2, 3)))
    assert out.spikes.shape == (4, 2, 3)


def test_sequential_checks_its_input_before_the_first_layer():
    net = SNNSequential(Dense(4, 3), LIF())
    with pytest.raises(InputError, match="SNNSequential input: expected a floating-point tensor"):
        net(torch.zeros(5, 2, 4, dtype=torch.int64))
    with pytest.raises(ShapeError, match="SNNSequential input"):
        net(torch.zeros(0, 2, 4))
    with pytest.raises(InputError, match="holds NaN or inf"):  # caught at the first neuron, behind the synapse
        net(torch.full((5, 2, 4), float("nan")))


def test_under_autocast_synapses_run_in_bf16_and_membranes_in_float32():
    torch.manual_seed(0)
    net = SNNSequential(Dense(4, 3), LIF())
    x = torch.rand(5, 2, 4)
    with torch.autocast("cpu", dtype=torch.bfloat16), recording(net) as layers:
        current = net[0](x)
        spikes, _ = net(x)
        membrane = layers[0][1].recorded_membrane
    assert current.dtype == torch.bfloat16  # the synapse under autocast
    assert spikes.dtype == membrane.dtype == torch.float32  # the neuron integrates in float32
    reference = neuron_scan(current.float(), net[1].params, net[1].estimator)
    assert torch.equal(membrane, reference.membrane)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_all_finite_agrees_with_the_elementwise_test(dtype):
    from spikegrad.types import all_finite

    big, inf, nan = torch.finfo(dtype).max, float("inf"), float("nan")
    rows = [[[0.0, 0.0]], [[big, big, big]], [[big, -big, 1.0]], [[1.0, nan]], [[inf, 2.0]], [[inf, -inf]], [[-inf]]]
    expected = [True, True, True, False, False, False, False]  # the 2nd and 3rd are finite values whose sum overflows
    for row, finite in zip(rows, expected):
        assert all_finite(torch.tensor(row, dtype=dtype)) is finite, row
