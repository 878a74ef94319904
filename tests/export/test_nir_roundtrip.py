"""to_nir -> nir.write/read -> from_nir gives the same spikes and outputs; the written constants follow the mapping."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

nir = pytest.importorskip("nir", reason="the nir extra is not installed (pip install 'spikegrad[nir]')")

from spikegrad.errors import ConfigError, ExportError
from spikegrad.export import (
    SNNTORCH_DT,
    approximate_agreement,
    from_nir,
    record_spikes,
    to_nir,
)
from spikegrad.export.writer import APPROXIMATED
from spikegrad.functional.neuron import Reset
from spikegrad.nn import (
    CUBA,
    IF,
    LIF,
    Conv2d,
    Dense,
    LeakyIntegrator,
    SNNSequential,
)
from spikegrad.rules.lee.layers import LeeLIF
from spikegrad.rules.slayer.layers import SLAYERBlock, SRMNeuron
from spikegrad.rules.slayer.srm import SRMParameters


def _through_file(graph, tmp_path):
    path = tmp_path / "net.nir"
    nir.write(path, graph)
    return nir.read(path)


def test_every_layer_type_round_trips_exactly(tmp_path, spikes, network_of_every_layer):
    net = network_of_every_layer()
    graph = _through_file(to_nir(net, input_shape=spikes.shape[2:]), tmp_path)
    kinds = {type(node).__name__ for node in graph.nodes.values()}
    assert kinds == {"Input", "Output", "Conv2d", "LIF", "SumPool2d", "Scale", "I", "Threshold", "CubaLIF", "AvgPool2d",
                     "Flatten", "Affine", "Delay", "LI", "Linear", "IF"}  # fmt: skip
    back = from_nir(graph)
    with torch.no_grad():
        expected, _ = net(spikes)
        got, _ = back(spikes)
    assert torch.equal(got, expected)  # the final trace, bit for bit
    ours, theirs = record_spikes(net, spikes), record_spikes(back, spikes)
    assert len(ours) == len(theirs) == 6
    for layer, (a, b) in enumerate(zip(ours, theirs)):
        assert a.sum() > 0, f"spiking layer {layer} is silent: the test would prove nothing"
        assert torch.equal(a, b), f"spiking layer {layer} differs"


def test_lif_constants_follow_the_euler_mapping():
    net = SNNSequential(Dense(3, 2), LIF(tau_mem=10.0, threshold=0.8, reset=Reset.ZERO, dt=1.0))
    graph = to_nir(net)
    assert graph.metadata["dt"] == 1e-3  # the network's own step, in seconds
    lif = graph.nodes["1"]
    beta = math.exp(-0.1)
    assert lif.tau == pytest.approx(np.full(2, 1e-3 / (1 - beta)), rel=1e-12)  # about 10.5 ms, not 10 ms
    assert lif.r * 1e-3 / lif.tau == pytest.approx(np.ones(2), rel=1e-12)  # input gain 1
    assert (1 - 1e-3 / lif.tau) == pytest.approx(np.full(2, beta), rel=1e-12)  # Euler decay = beta
    assert np.all(lif.v_leak == 0) and np.all(lif.v_reset == 0)
    assert np.all(lif.v_threshold == np.nextafter(np.float32(0.8), np.float32(0)))  # strict > equals our >=
    snn_graph = to_nir(net, dt=SNNTORCH_DT)
    assert snn_graph.nodes["1"].tau == pytest.approx(np.full(2, SNNTORCH_DT / (1 - beta)), rel=1e-12)
    rebuilt = from_nir(snn_graph)[1]
    assert rebuilt.params.mem_decay == pytest.approx(beta, rel=1e-12)
    assert rebuilt.params.threshold == np.float32(0.8) and rebuilt.params.reset is Reset.ZERO


def test_cuba_constants_follow_the_euler_mapping():
    net = SNNSequential(Dense(3, 2), CUBA(tau_mem=8.0, tau_syn=2.0, reset=Reset.ZERO, dt=0.5))
    node = to_nir(net).nodes["1"]
    alpha, beta = math.exp(-0.25), math.exp(-0.0625)
    assert node.tau_syn == pytest.approx(np.full(2, 5e-4 / (1 - alpha)), rel=1e-12)
    assert node.tau_mem == pytest.approx(np.full(2, 5e-4 / (1 - beta)), rel=1e-12)
    assert node.w_in * 5e-4 / node.tau_syn == pytest.approx(np.ones(2)) and node.r * 5e-4 / node.tau_mem == pytest.approx(np.ones(2))


def test_spikes_exactly_at_threshold_agree():
    """Membranes that reach the threshold exactly (sums of 0.25) fire in both: NIR's strict > is compensated."""
    net = SNNSequential(Dense(4, 3, bias=False), IF(threshold=1.0, reset=Reset.ZERO), Dense(3, 2, bias=False), IF(threshold=1.5, reset=Reset.NONE))
    with torch.no_grad():
        net[0].weight.fill_(0.25)
        net[2].weight.fill_(0.25)
    x = torch.ones(8, 1, 4)  # first IF: h = 1.0 at every step; second: h = 0.75 t, equal to 1.5 at t = 2
    back = from_nir(to_nir(net, dt=1e-3))
    ours, theirs = record_spikes(net, x), record_spikes(back, x)
    assert ours[0].sum() == 3 * 8 and ours[1][:, 0, 0].tolist() == [0, 1, 1, 1, 1, 1, 1, 1]
    assert all(torch.equal(a, b) for a, b in zip(ours, theirs))


def test_subtraction_is_refused_naming_the_reset_and_the_option():
    net = SNNSequential(Dense(3, 2), LIF(reset=Reset.SUBTRACT))
    with pytest.raises(ExportError, match=r"layer 1 \(LIF\).*subtraction.*approximate") as caught:
        to_nir(net)
    assert caught.value.layer == "layer 1 (LIF)"


def test_approximate_export_flags_and_measures(spikes, network_of_every_layer):
    net = network_of_every_layer(reset_zero=Reset.SUBTRACT)
    graph = to_nir(net, input_shape=spikes.shape[2:], approximate=True)
    assert graph.metadata[APPROXIMATED] == "1,4.neuron,13"
    assert "reset to zero" in graph.nodes["1"].metadata["spikegrad_approximation"]
    agreement = approximate_agreement(net, spikes)
    print(f"\nsubtract-reset network, approximate NIR export: {agreement}")
    assert 0.5 < agreement.matching < 1.0  # not identical: the reset differs; but the same network
    assert agreement.coincidence < 1.0 and agreement.reference_spikes != agreement.candidate_spikes
    exact = approximate_agreement(network_of_every_layer(), spikes)
    assert (exact.matching, exact.coincidence, exact.predictions) == (1.0, 1.0, 1.0)


def test_adaptive_and_own_weight_neurons_are_refused_naming_what():
    from spikegrad.functional.neuron import ALIFParameters, LIFParameters
    from spikegrad.nn import OwnParameters, OwnWeights, SpikingNeuron

    with pytest.raises(ExportError, match=r"layer 1 \(ALIF\).*adaptive threshold"):
        to_nir(SNNSequential(Dense(3, 2), SpikingNeuron(ALIFParameters(reset=Reset.ZERO))))
    params = LIFParameters(reset=Reset.ZERO)
    own = SpikingNeuron(params, own=OwnWeights(OwnParameters(2, recurrent=True), params))
    with pytest.raises(ExportError, match=r"layer 1 \(LIF\).*recurrent weights"):
        to_nir(SNNSequential(Dense(3, 2), own))


def test_srm_neuron_is_refused_naming_the_layer():
    block = SLAYERBlock(Dense(3, 2, bias=False), SRMNeuron(SRMParameters()))
    with pytest.raises(ExportError, match=r"layer 0\.neuron \(SRMNeuron\).*truncated"):
        to_nir(SNNSequential(block))


def test_unsupported_layers_are_named():
    with pytest.raises(ExportError, match=r"layer 1 \(LeeLIF\).*no NIR mapping"):
        to_nir(SNNSequential(Dense(3, 2), LeeLIF()))
    with pytest.raises(ExportError, match=r"layer 1 \(ReLU\)"):
        to_nir(SNNSequential(Dense(3, 2), torch.nn.ReLU()))
    with pytest.raises(ExportError, match="groups=2"):
        to_nir(SNNSequential(Conv2d(2, 2, 3, groups=2)), input_shape=(2, 4, 4))
    with pytest.raises(ExportError, match="padding_mode"):
        to_nir(SNNSequential(Conv2d(1, 1, 3, padding=1, padding_mode="circular")), input_shape=(1, 4, 4))


def test_shapes_and_steps_must_be_known():
    with pytest.raises(ConfigError, match="input_shape"):
        to_nir(SNNSequential(Conv2d(1, 2, 3), LIF(reset=Reset.ZERO)))
    with pytest.raises(ConfigError, match="dt"):
        to_nir(SNNSequential(Dense(3, 2), IF(reset=Reset.ZERO)))  # IF has no time step: say which
    assert to_nir(SNNSequential(Dense(3, 2), IF(reset=Reset.ZERO)), dt=1e-3).metadata["dt"] == 1e-3
    with pytest.raises(ConfigError, match="different time steps"):
        to_nir(SNNSequential(Dense(3, 2), LIF(reset=Reset.ZERO, dt=1.0), Dense(2, 2), LIF(reset=Reset.ZERO, dt=0.5)))
    with pytest.raises(ConfigError, match="dt"):
        to_nir(SNNSequential(Dense(3, 2), LIF(reset=Reset.ZERO)), dt=-1.0)


def test_leaky_integrator_decay_survives_exactly():
    net = SNNSequential(Dense(3, 2), LeakyIntegrator(tau_mem=7.0))
    back = from_nir(to_nir(net))
    assert back[1].beta == pytest.approx(net[1].beta, rel=1e-15)
    x = torch.randn(20, 2, 3)
    with torch.no_grad():
        assert torch.equal(back(x)[0], net(x)[0])


@pytest.mark.parametrize("options", [{"padding": "same", "dilation": 2, "bias": False}, {"stride": 2, "padding": 2}])
def test_conv2d_options_survive_the_file(tmp_path, options):
    net = SNNSequential(Conv2d(2, 4, 3, **options), LIF(tau_mem=4.0, threshold=0.2, reset=Reset.ZERO))
    back = from_nir(_through_file(to_nir(net, input_shape=(2, 9, 9)), tmp_path))
    x = (torch.rand(12, 3, 2, 9, 9) < 0.4).float()
    with torch.no_grad():
        expected, got = net(x)[0], back(x)[0]
    assert expected.sum() > 0 and torch.equal(got, expected)
    assert back[0].padding == net[0].padding and back[0].stride == net[0].stride and back[0].groups == net[0].groups
