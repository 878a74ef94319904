r"""Read a NIR graph (spikegrad's or another library's) into spikegrad modules, refusing what they cannot compute.

The graph must be a chain ``Input -> nodes -> Output``. One table, :func:`readers`, maps each NIR node type to
modules (units and discretisation: :mod:`spikegrad.export.discretisation`; ``dt`` in seconds, ``dt_ms`` the
same step in ms; ``beta = 1 - dt/tau``, ``alpha = 1 - dt/tau_syn``; ``theta`` from
:func:`~spikegrad.export.discretisation.spikegrad_threshold` of ``v_thr / g``):

=====================================  ======================================================================
NIR node(s)                            modules
=====================================  ======================================================================
Affine / Linear                        ``Dense(bias=True / False)``
Conv2d                                 ``Conv2d`` (bias kept, zero or not)
AvgPool2d                              ``AvgPool2d(k, stride)``: square kernel and stride, no padding
SumPool2d [-> Scale(c)]                ``SumPool2d(k, stride, scale=c)`` (c uniform; 1 without Scale)
Flatten                                ``Flatten()`` when it flattens every per-sample dim
LIF (v_leak = v_reset = 0)             ``LIF(tau_mem = -dt_ms / ln beta, dt_ms, theta, Reset.ZERO)``; ``IF`` when beta = 1
IF (v_reset = 0)                       ``IF(theta, Reset.ZERO)``
CubaLIF (v_leak = v_reset = 0)         ``CUBA(tau_mem, tau_syn, theta, Reset.ZERO)``
LI / I -> Threshold                    ``LIF`` / ``IF`` with ``Reset.NONE``
CubaLI -> Threshold                    ``LeakyIntegrator(alpha) -> LIF(beta, Reset.NONE)``
LI / I / CubaLI alone                  ``LeakyIntegrator`` (one, or two for CubaLI); input gain must be 1
Delay                                  ``AxonalDelay(ts = dt_ms)``, delay ``(k + 1/2) dt_ms`` for ``k = delay/dt`` steps
=====================================  ======================================================================

``g`` is the node's input gain under forward Euler (``r dt / tau``; ``r dt`` for IF and I;
``w_in (dt/tau_syn) r (dt/tau_mem)`` for CubaLIF), folded into the threshold. Refused, with an
:class:`~spikegrad.errors.ExportError` naming the node: per-neuron parameters that differ within a layer,
``v_leak`` or ``v_reset`` other than 0, a time constant shorter than ``dt`` (decay outside (0, 1]),
a Threshold or Scale on its own, subgraphs (recurrent layers), Conv1d, branches and cycles.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from spikegrad.errors import ConfigError, ExportError, SpikegradError
from spikegrad.export.discretisation import (
    SECONDS_PER_MS,
    euler_decay,
    require_nir,
    spikegrad_threshold,
    tau_ms,
    uniform,
)
from spikegrad.functional.neuron import Reset
from spikegrad.nn import (
    CUBA,
    IF,
    LIF,
    AvgPool2d,
    AxonalDelay,
    Conv2d,
    Dense,
    Flatten,
    LeakyIntegrator,
    SNNSequential,
    StatefulModule,
    SumPool2d,
)

GAIN_TOLERANCE = 1e-9
"""An input gain within this of 1 is taken as 1 (float rounding of ``r = tau/dt`` written by Euler exporters)."""


@dataclasses.dataclass(frozen=True)
class Node:
    """A graph node being read: its name, the NIR object, and the graph's step ``dt`` in seconds."""

    name: str
    node: Any
    dt: float

    @property
    def label(self) -> str:
        return f"NIR node {self.name!r} ({type(self.node).__name__})"

    @property
    def dt_ms(self) -> float:
        return self.dt / SECONDS_PER_MS

    def value(self, field: str) -> float:
        """The one value of a per-neuron field (neurons of a layer must agree)."""
        return uniform(getattr(self.node, field), field, self.label)

    def require_zero(self, *fields: str) -> None:
        for field in fields:
            values = np.asarray(getattr(self.node, field), dtype=np.float64)
            if np.any(values != 0):
                raise ExportError(self.label, f"{field} = {values.reshape(-1)[0]} != 0; spikegrad's neurons rest and reset at 0")

    def decay(self, tau_field: str) -> float:
        """Euler decay ``1 - dt/tau`` of a time-constant field, checked to lie in (0, 1]."""
        tau = self.value(tau_field)
        decay = euler_decay(tau, self.dt) if math.isfinite(tau) else 1.0
        if not 0.0 < decay <= 1.0:
            raise ExportError(
                self.label, f"{tau_field} = {tau} s at dt = {self.dt} s gives the per-step decay {decay}, outside (0, 1]: "
                "the time constant must be longer than the step"
            )
        return decay

    def rate(self, tau_field: str) -> float:
        """``dt / tau`` of a time-constant field: the Euler input factor (0 for an infinite tau)."""
        return self.dt / self.value(tau_field)


@dataclasses.dataclass(frozen=True)
class Read:
    """What a reader made of a node: the modules, and whether it also used the node after it."""

    modules: list[nn.Module]
    uses_next: bool = False


Reader = Callable[[Node, "Node | None"], Read]


def _tensor(array: Any) -> torch.Tensor:
    return torch.as_tensor(np.asarray(array), dtype=torch.float32)


def _ints(value: Any, count: int = 2) -> tuple[int, ...]:
    array = np.asarray(value).reshape(-1).astype(np.int64)
    return tuple(int(v) for v in (np.repeat(array, count) if array.size == 1 else array))


def _gain(value: float) -> float:
    return 1.0 if abs(value - 1.0) <= GAIN_TOLERANCE else value


def _threshold(node: Node, gain: float) -> float:
    if not gain > 0:
        raise ExportError(node.label, f"input gain {gain} <= 0 cannot be folded into the threshold")
    v_thr = node.value("threshold" if hasattr(node.node, "threshold") else "v_threshold")
    if not v_thr > 0:
        raise ExportError(node.label, f"threshold {v_thr} <= 0; spikegrad's neurons need a threshold > 0")
    return spikegrad_threshold(v_thr / gain)


def _build(node: Node, make: Callable[[], nn.Module]) -> nn.Module:
    try:
        return make()
    except SpikegradError as err:
        raise ExportError(node.label, f"cannot be built: {err}") from None


def _affine(node: Node, following: Node | None) -> Read:
    weight = np.asarray(node.node.weight)
    if weight.ndim != 2:
        raise ExportError(node.label, f"weight of shape {weight.shape}; spikegrad's Dense takes a 2-D weight")
    bias = getattr(node.node, "bias", None)
    layer = Dense(weight.shape[1], weight.shape[0], bias=bias is not None)
    with torch.no_grad():
        layer.weight.copy_(_tensor(weight))
        if bias is not None:
            layer.bias.copy_(_tensor(bias).reshape(-1))
    return Read([layer])


def _conv2d(node: Node, following: Node | None) -> Read:
    conv = node.node
    weight = np.asarray(conv.weight)
    if weight.ndim != 4:
        raise ExportError(node.label, f"weight of shape {weight.shape}; expected (C_out, C_in / groups, kH, kW)")
    padding = conv.padding if isinstance(conv.padding, str) else _ints(conv.padding)
    groups = int(np.asarray(conv.groups).reshape(-1)[0])
    layer = _build(node, lambda: Conv2d(
        weight.shape[1] * groups, weight.shape[0], tuple(weight.shape[2:]), stride=_ints(conv.stride),
        padding=padding, dilation=_ints(conv.dilation), groups=groups, bias=True,
    ))
    with torch.no_grad():
        layer.weight.copy_(_tensor(weight))
        layer.bias.copy_(_tensor(conv.bias).reshape(-1) if conv.bias is not None else torch.zeros(weight.shape[0]))
    return Read([layer])


def _pool_geometry(node: Node) -> tuple[int, int]:
    kernel, stride, padding = _ints(node.node.kernel_size), _ints(node.node.stride), _ints(node.node.padding)
    if kernel[0] != kernel[1] or stride[0] != stride[1] or any(padding):
        raise ExportError(
            node.label, f"kernel {kernel}, stride {stride}, padding {padding}: spikegrad's pooling takes a square "
            "kernel and stride without padding"
        )
    return kernel[0], stride[0]


def _avg_pool(node: Node, following: Node | None) -> Read:
    kernel, stride = _pool_geometry(node)
    return Read([_build(node, lambda: AvgPool2d(kernel, stride))])


def _sum_pool(node: Node, following: Node | None) -> Read:
    kernel, stride = _pool_geometry(node)
    scaled = following is not None and type(following.node).__name__ == "Scale"
    scale = uniform(following.node.scale, "scale", following.label) if scaled else 1.0
    return Read([_build(node, lambda: SumPool2d(kernel, stride, scale=scale))], uses_next=scaled)


def _flatten(node: Node, following: Node | None) -> Read:
    flatten = node.node
    start, end = int(flatten.start_dim), int(flatten.end_dim)
    in_type = flatten.input_type.get("input") if isinstance(flatten.input_type, dict) else None
    if in_type is not None:
        whole = len(np.asarray(flatten.output_type["output"]).reshape(-1)) == 1
    else:  # no per-sample type: torch-based exporters count the batch as dim 0 (start_dim=1)
        whole = start in (0, 1) and end == -1
    if not whole:
        raise ExportError(node.label, f"start_dim={start}, end_dim={end} keeps several axes; spikegrad's Flatten flattens every feature axis")
    return Read([Flatten()])


def _lif(node: Node, following: Node | None) -> Read:
    node.require_zero("v_leak", "v_reset")
    beta = node.decay("tau")
    theta = _threshold(node, _gain(node.value("r") * node.rate("tau")))
    if beta == 1.0:
        return Read([_build(node, lambda: IF(threshold=theta, reset=Reset.ZERO))])
    return Read([_build(node, lambda: LIF(tau_mem=tau_ms(beta, node.dt_ms), threshold=theta, reset=Reset.ZERO, dt=node.dt_ms))])


def _if(node: Node, following: Node | None) -> Read:
    node.require_zero("v_reset")
    theta = _threshold(node, _gain(node.value("r") * node.dt))
    return Read([_build(node, lambda: IF(threshold=theta, reset=Reset.ZERO))])


def _cuba_lif(node: Node, following: Node | None) -> Read:
    node.require_zero("v_leak", "v_reset")
    alpha, beta = node.decay("tau_syn"), node.decay("tau_mem")
    gain = _gain(node.value("w_in") * node.rate("tau_syn") * node.value("r") * node.rate("tau_mem"))
    theta = _threshold(node, gain)
    return Read([_build(node, lambda: CUBA(
        tau_mem=tau_ms(beta, node.dt_ms), tau_syn=tau_ms(alpha, node.dt_ms), threshold=theta, reset=Reset.ZERO, dt=node.dt_ms,
    ))])


def _integrator(node: Node, decay: float, gain: float, following: Node | None, before: list[nn.Module]) -> Read:
    """A membrane ``v_t = decay v_(t-1) + gain x_t``: a neuron without reset if a Threshold follows, else a trace."""
    if following is not None and type(following.node).__name__ == "Threshold":
        theta = _threshold(following, gain)
        if decay == 1.0:
            neuron = _build(node, lambda: IF(threshold=theta, reset=Reset.NONE))
        else:
            neuron = _build(node, lambda: LIF(tau_mem=tau_ms(decay, node.dt_ms), threshold=theta, reset=Reset.NONE, dt=node.dt_ms))
        return Read([*before, neuron], uses_next=True)
    if gain != 1.0:
        raise ExportError(node.label, f"input gain {gain} != 1: spikegrad's LeakyIntegrator has no input gain")
    return Read([*before, _trace(node, decay)])


def _trace(node: Node, decay: float) -> LeakyIntegrator:
    module = _build(node, lambda: LeakyIntegrator(tau_mem=tau_ms(decay, node.dt_ms), dt=node.dt_ms))
    module.beta = decay  # the graph's decay itself, not exp(-dt/tau) recomputed in float32
    return module  # type: ignore[return-value]


def _li(node: Node, following: Node | None) -> Read:
    node.require_zero("v_leak")
    return _integrator(node, node.decay("tau"), _gain(node.value("r") * node.rate("tau")), following, [])


def _i(node: Node, following: Node | None) -> Read:
    return _integrator(node, 1.0, _gain(node.value("r") * node.dt), following, [])


def _cuba_li(node: Node, following: Node | None) -> Read:
    node.require_zero("v_leak")
    alpha, beta = node.decay("tau_syn"), node.decay("tau_mem")
    gain = _gain(node.value("w_in") * node.rate("tau_syn") * node.value("r") * node.rate("tau_mem"))
    return _integrator(node, beta, gain, following, [_trace(node, alpha)])


def _delay(node: Node, following: Node | None) -> Read:
    delays = np.asarray(node.node.delay, dtype=np.float64)
    steps = np.rint(delays / node.dt)
    if np.any(steps < 0) or not np.allclose(steps * node.dt, delays, rtol=0, atol=1e-6 * node.dt):
        raise ExportError(node.label, f"delays must be whole non-negative numbers of steps of dt = {node.dt} s")
    layer = _build(node, lambda: AxonalDelay(tuple(delays.shape), ts=node.dt_ms, max_delay=None, init_max=0.0))
    with torch.no_grad():  # the middle of the step: trunc(d / Ts) = k without rounding doubt
        layer.delay.copy_(torch.as_tensor((steps + 0.5) * node.dt_ms, dtype=torch.float32))
    return Read([layer])


@functools.cache
def readers() -> dict[type, Reader]:
    """NIR node type -> reader: the table of the module docstring (built on first use: it needs ``nir``)."""
    nir = require_nir()
    return {
        nir.Affine: _affine,
        nir.Linear: _affine,
        nir.Conv2d: _conv2d,
        nir.AvgPool2d: _avg_pool,
        nir.SumPool2d: _sum_pool,
        nir.Flatten: _flatten,
        nir.LIF: _lif,
        nir.IF: _if,
        nir.CubaLIF: _cuba_lif,
        nir.LI: _li,
        nir.I: _i,
        nir.CubaLI: _cuba_li,
        nir.Delay: _delay,
    }


_ALONE = {
    "Threshold": "a Threshold must follow an LI, I or CubaLI node (together a neuron without reset); alone it is "
    "a memoryless step that spikegrad has no layer for",
    "Scale": "a Scale must follow a SumPool2d (together a scaled sum-pool); spikegrad has no elementwise scale layer",
    "NIRGraph": "a subgraph (other libraries write recurrent layers this way); spikegrad has no recurrent layer",
}


def _chain(graph: Any) -> list[tuple[str, Any]]:
    """The nodes between the single Input and the single Output, in order; ExportError for any other shape."""
    nir = require_nir()
    inputs = [name for name, node in graph.nodes.items() if isinstance(node, nir.Input)]
    if len(inputs) != 1:
        raise ExportError("NIR graph", f"has {len(inputs)} Input nodes; spikegrad reads chains with exactly one")
    successors: dict[str, list[str]] = {name: [] for name in graph.nodes}
    predecessors: dict[str, int] = {name: 0 for name in graph.nodes}
    for source, target in graph.edges:
        if source not in successors or target not in successors:
            raise ExportError("NIR graph", f"edge ({source!r}, {target!r}) names a node that does not exist")
        successors[source].append(target)
        predecessors[target] += 1
    chain, name = [], inputs[0]
    while not isinstance(graph.nodes[name], nir.Output):
        following = successors[name]
        if len(following) != 1 or predecessors[following[0]] != 1 or following[0] in {n for n, _ in chain}:
            raise ExportError(
                f"NIR node {name!r}", f"has {len(following)} successor(s) or joins another branch; spikegrad reads "
                "sequential graphs (Input -> ... -> Output) without branches or cycles"
            )
        name = following[0]
        if not isinstance(graph.nodes[name], nir.Output):
            chain.append((name, graph.nodes[name]))
    if len(chain) + 2 != len(graph.nodes):
        stray = sorted(set(graph.nodes) - {n for n, _ in chain} - {inputs[0], name})
        raise ExportError("NIR graph", f"nodes {stray} are not on the path from the input to the output")
    return chain


def _graph_dt(graph: Any, dt: float | None) -> float:
    if dt is None:
        dt = graph.metadata.get("dt") if isinstance(graph.metadata, dict) else None
        if dt is None:
            raise ConfigError(
                "dt", "the graph does not state its time step (metadata 'dt'); pass dt in seconds "
                "(snnTorch 1.0.0 writes its graphs for 1e-4 s, Norse's default is 1e-3 s)"
            )
    dt = float(np.asarray(dt).reshape(-1)[0])
    if not (math.isfinite(dt) and dt > 0):
        raise ConfigError("dt", f"the graph's time step must be a finite number of seconds > 0, got {dt!r}")
    return dt


def from_nir(graph: Any, dt: float | None = None) -> SNNSequential:
    r"""spikegrad modules computing what a NIR graph computes under forward Euler at step ``dt``.

    Args:
        graph: a ``nir.NIRGraph``, or the path of a ``.nir`` file (read with ``nir.read``).
        dt: the time step in **seconds** at which to discretise the graph (see
            :mod:`spikegrad.export.discretisation`). None: the graph's metadata ``dt``, which
            :func:`~spikegrad.export.to_nir` writes; graphs from other libraries need it (snnTorch 1.0.0:
            :data:`~spikegrad.export.discretisation.SNNTORCH_DT`). Given, it overrides the metadata.

    Returns:
        An :class:`~spikegrad.nn.SNNSequential` in eval mode, called as ``output, states = net(x[T, B, ...])``.
        Neurons get the default estimator (FastSigmoid) for further training; NIR carries none.

    Raises:
        ExportError: a node or graph shape spikegrad cannot represent (see :func:`readers`), naming the node.
        ConfigError: no ``dt`` known.
    """
    nir = require_nir()
    if isinstance(graph, (str, os.PathLike)):
        path = Path(graph)
        if not path.is_file():
            raise ExportError(str(path), "no such NIR file")
        try:
            graph = nir.read(path)
        except (OSError, ValueError, KeyError, AssertionError) as err:
            raise ExportError(str(path), f"cannot be read as a NIR graph: {err}") from None
    if not isinstance(graph, nir.NIRGraph):
        raise ExportError("graph", f"expected a nir.NIRGraph or a .nir file path, got {type(graph).__name__}")
    step = _graph_dt(graph, dt)
    table = readers()
    chain = [Node(name, node, step) for name, node in _chain(graph)]
    modules: list[nn.Module] = []
    index = 0
    while index < len(chain):
        node = chain[index]
        reader = table.get(type(node.node))
        if reader is None:
            kind = type(node.node).__name__
            reason = _ALONE.get(kind, f"no spikegrad layer for NIR's {kind}; readable: {', '.join(sorted(t.__name__ for t in table))}")
            raise ExportError(node.label, reason)
        read = reader(node, chain[index + 1] if index + 1 < len(chain) else None)
        modules += read.modules
        index += 2 if read.uses_next else 1
    network = SNNSequential(*modules).eval()
    _check_runs(network, graph)
    return network


@torch.no_grad()
def _check_runs(network: SNNSequential, graph: Any) -> None:
    """Run one zero step of the graph's input shape through the network, naming the layer that refuses it."""
    shape = next(iter(graph.nodes[n] for n in graph.nodes if type(graph.nodes[n]).__name__ == "Input")).input_type["input"]
    if shape is None:
        return
    x = torch.zeros((1, 1, *(int(s) for s in np.asarray(shape).reshape(-1))))
    for index, layer in enumerate(network):
        try:
            x = layer(x)[0] if isinstance(layer, StatefulModule) else layer(x)
        except (SpikegradError, RuntimeError) as err:
            raise ExportError(f"layer {index} ({type(layer).__name__}) read from the graph", f"does not fit the graph's shapes: {err}") from None
