"""from_nir on graphs spikegrad did not write: other libraries' conventions, a reference Euler simulation, refusals."""

from __future__ import annotations

import numpy as np
import pytest
import torch

nir = pytest.importorskip("nir", reason="the nir extra is not installed (pip install 'spikegrad[nir]')")

from spikegrad.errors import ConfigError, ExportError
from spikegrad.export import SNNTORCH_DT, from_nir
from spikegrad.functional.neuron import Reset
from spikegrad.nn import (
    CUBA,
    IF,
    LIF,
    AxonalDelay,
    Dense,
    Flatten,
    LeakyIntegrator,
    SumPool2d,
)

DT = 1e-3


def _rng():
    return np.random.default_rng(3)


def _vec(n, value):
    return np.full(n, value, dtype=np.float64)


def _norse_style_graph():
    """Affine -> LIF (r = 1: input gain dt/tau, Norse's convention) -> Affine -> CubaLIF (w_in = r = 1)."""
    rng = _rng()
    w1, b1 = rng.normal(size=(6, 4)).astype(np.float32), rng.normal(size=6).astype(np.float32)
    w2 = rng.normal(size=(3, 6)).astype(np.float32) * 3
    lif = nir.LIF(tau=_vec(6, 5e-3), r=_vec(6, 1.0), v_leak=_vec(6, 0), v_threshold=_vec(6, 0.1), v_reset=_vec(6, 0))
    cuba = nir.CubaLIF(tau_syn=_vec(3, 4e-3), tau_mem=_vec(3, 8e-3), r=_vec(3, 1.0), v_leak=_vec(3, 0),
                       v_threshold=_vec(3, 0.02), v_reset=_vec(3, 0), w_in=_vec(3, 1.0))  # fmt: skip
    return nir.NIRGraph.from_list(nir.Affine(weight=w1, bias=b1), lif, nir.Linear(weight=w2), cuba), (w1, b1, w2)


def _euler_reference(x, weights):
    """NIR's equations under forward Euler at DT, in float64: spikes of both neuron layers."""
    w1, b1, w2 = (w.astype(np.float64) for w in weights)
    v1, i2, v2 = np.zeros((x.shape[1], 6)), np.zeros((x.shape[1], 3)), np.zeros((x.shape[1], 3))
    s1_all, s2_all = [], []
    for xt in x.astype(np.float64):
        v1 = v1 + DT / 5e-3 * (-v1 + 1.0 * (xt @ w1.T + b1))
        s1 = (v1 > 0.1).astype(np.float64)
        v1 = np.where(s1 > 0, 0.0, v1)
        i2 = i2 + DT / 4e-3 * (-i2 + 1.0 * (s1 @ w2.T))
        v2 = v2 + DT / 8e-3 * (-v2 + 1.0 * i2)
        s2 = (v2 > 0.02).astype(np.float64)
        v2 = np.where(s2 > 0, 0.0, v2)
        s1_all.append(s1)
        s2_all.append(s2)
    return np.stack(s1_all), np.stack(s2_all)


def test_foreign_gains_are_folded_and_match_an_euler_simulation():
    graph, weights = _norse_style_graph()
    net = from_nir(graph, dt=DT)
    assert [type(m) for m in net] == [Dense, LIF, Dense, CUBA]
    assert net[1].params.threshold == pytest.approx(0.1 / (DT / 5e-3), rel=1e-6)  # gain dt/tau folded in
    assert net[1].params.mem_decay == pytest.approx(1 - DT / 5e-3) and net[3].params.syn_decay == pytest.approx(0.75)
    x = np.random.default_rng(4).normal(size=(60, 5, 4)).astype(np.float32) * 2
    s1, s2 = _euler_reference(x, weights)
    assert s1.sum() > 50 and s2.sum() > 10
    with torch.no_grad():
        hidden = net[1](net[0](torch.from_numpy(x)))[0]
        output, _ = net(torch.from_numpy(x))
    assert np.array_equal(hidden.numpy(), s1) and np.array_equal(output.numpy(), s2)


def test_snntorch_convention_without_metadata_needs_dt():
    beta = 0.9
    tau = SNNTORCH_DT / (1 - beta)
    lif = nir.LIF(tau=_vec(2, tau), r=_vec(2, tau / SNNTORCH_DT), v_leak=_vec(2, 0), v_threshold=_vec(2, 1.0), v_reset=_vec(2, 0))
    graph = nir.NIRGraph.from_list(nir.Linear(weight=np.eye(2, dtype=np.float32)), lif)
    with pytest.raises(ConfigError, match="1e-4"):
        from_nir(graph)
    net = from_nir(graph, dt=SNNTORCH_DT)
    assert net[1].params.mem_decay == pytest.approx(beta, rel=1e-12) and net[1].params.threshold == np.nextafter(np.float32(1), np.float32(2))


def test_threshold_integrator_pairs_and_scaled_pools():
    shape = (1, 4, 4)
    graph = nir.NIRGraph.from_list(
        nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])),
        nir.Scale(scale=np.full((1, 2, 2), 0.5, dtype=np.float32)),
        nir.Flatten(input_type={"input": np.array([1, 2, 2])}, start_dim=0),
        nir.I(r=_vec(4, 1 / DT)), nir.Threshold(threshold=_vec(4, 0.5)),
        nir.CubaLI(tau_syn=_vec(4, 2e-3), tau_mem=_vec(4, 4e-3), r=_vec(4, 4.0), v_leak=_vec(4, 0), w_in=_vec(4, 2.0)),
        nir.LI(tau=_vec(4, 3e-3), r=_vec(4, 3.0), v_leak=_vec(4, 0)), nir.Delay(delay=np.array([0, 1, 2, 3]) * DT),
        type_check=False,
    )  # fmt: skip
    graph.nodes["input"] = nir.Input(input_type=np.array(shape))
    net = from_nir(graph, dt=DT)
    assert [type(m) for m in net] == [SumPool2d, Flatten, IF, LeakyIntegrator, LeakyIntegrator, LeakyIntegrator, AxonalDelay]
    assert net[0].scale == 0.5 and net[2].params.reset is Reset.NONE
    assert net[6].delay.tolist() == [0.5, 1.5, 2.5, 3.5]  # k + 1/2 steps of 1 ms
    with torch.no_grad():
        out, _ = net(torch.ones(6, 1, *shape))
    assert out[:, 0, 0].tolist()[0] != 0 and out[:3, 0, 3].tolist() == [0, 0, 0]  # delayed by 3 steps


def test_flatten_conventions():
    torch_style = nir.NIRGraph.from_list(nir.Flatten(input_type={"input": None}, start_dim=1), nir.Linear(weight=np.ones((1, 8), np.float32)), type_check=False)
    torch_style.nodes["input"] = nir.Input(input_type=np.array([2, 2, 2]))
    assert isinstance(from_nir(torch_style, dt=DT)[0], Flatten)
    partial = nir.NIRGraph.from_list(nir.Flatten(input_type={"input": np.array([2, 2, 2])}, start_dim=1))
    with pytest.raises(ExportError, match="keeps several axes"):
        from_nir(partial, dt=DT)


def _single(node, n=3):
    graph = nir.NIRGraph.from_list(nir.Linear(weight=np.eye(n, dtype=np.float32)), node)
    return graph


@pytest.mark.parametrize(
    "node, message",
    [
        (nir.LIF(tau=_vec(3, 5e-3), r=_vec(3, 5), v_leak=_vec(3, 0.1), v_threshold=_vec(3, 1), v_reset=_vec(3, 0)), "v_leak"),
        (nir.LIF(tau=_vec(3, 5e-3), r=_vec(3, 5), v_leak=_vec(3, 0), v_threshold=_vec(3, 1), v_reset=_vec(3, -1)), "v_reset"),
        (nir.LIF(tau=np.array([5e-3, 6e-3, 5e-3]), r=_vec(3, 5), v_leak=_vec(3, 0), v_threshold=_vec(3, 1)), "tau differs between neurons"),
        (nir.LIF(tau=_vec(3, 5e-4), r=_vec(3, 5), v_leak=_vec(3, 0), v_threshold=_vec(3, 1)), "longer than the step"),
        (nir.IF(r=_vec(3, 1e3), v_threshold=_vec(3, -1.0)), "threshold"),
        (nir.Threshold(threshold=_vec(3, 1.0)), "memoryless"),
        (nir.Scale(scale=_vec(3, 2.0)), "elementwise scale"),
        (nir.LI(tau=_vec(3, 5e-3), r=_vec(3, 1.0), v_leak=_vec(3, 0)), "input gain"),
        (nir.Delay(delay=_vec(3, 0.4e-3)), "whole non-negative numbers of steps"),
    ],
)  # fmt: skip
def test_unrepresentable_nodes_are_refused_by_name(node, message):
    with pytest.raises(ExportError, match=message) as caught:
        from_nir(_single(node), dt=DT)
    assert "NIR node '" in str(caught.value)


def test_graph_shapes_other_than_a_chain_are_refused():
    lin = nir.Linear(weight=np.eye(2, dtype=np.float32))
    lif = nir.LIF(tau=_vec(2, 5e-3), r=_vec(2, 5), v_leak=_vec(2, 0), v_threshold=_vec(2, 1))
    nodes = {"input": nir.Input(input_type=np.array([2])), "a": lin, "b": lif, "output": nir.Output(output_type=np.array([2]))}
    recurrent = nir.NIRGraph(nodes=nodes, edges=[("input", "a"), ("a", "b"), ("b", "a"), ("b", "output")], type_check=False)
    with pytest.raises(ExportError, match="without branches or cycles"):
        from_nir(recurrent, dt=DT)
    sub = nir.NIRGraph.from_list(lin, lif)
    nested = nir.NIRGraph.from_list(nir.Linear(weight=np.eye(2, dtype=np.float32)), sub, type_check=False)
    nested.nodes["input"] = nir.Input(input_type=np.array([2]))
    with pytest.raises(ExportError, match="recurrent"):
        from_nir(nested, dt=DT)
    conv1d = nir.NIRGraph.from_list(nir.Conv1d(input_shape=4, weight=np.ones((1, 1, 2)), stride=1, padding=0, dilation=1, groups=1, bias=np.zeros(1)))
    with pytest.raises(ExportError, match="Conv1d"):
        from_nir(conv1d, dt=DT)


def test_files_are_read_and_bad_ones_named(tmp_path):
    graph, _ = _norse_style_graph()
    nir.write(tmp_path / "g.nir", graph)
    assert len(from_nir(tmp_path / "g.nir", dt=DT)) == 4
    with pytest.raises(ExportError, match="no such NIR file"):
        from_nir(tmp_path / "missing.nir")
    (tmp_path / "bad.nir").write_bytes(b"not hdf5")
    with pytest.raises(ExportError, match="cannot be read"):
        from_nir(str(tmp_path / "bad.nir"))


def test_if_nodes_fold_their_gain():
    graph = _single(nir.IF(r=_vec(3, 500.0), v_threshold=_vec(3, 1.0)))  # gain r dt = 0.5
    layer = from_nir(graph, dt=DT)[1]
    assert isinstance(layer, IF) and layer.params.threshold == np.nextafter(np.float32(2), np.float32(3)) and layer.params.reset is Reset.ZERO
