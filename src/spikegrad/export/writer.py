r"""Write a spikegrad network as a NIR graph, built directly from the layer types (no tracing).

One table, :data:`WRITERS`, maps each layer type to the NIR nodes that compute the same numbers
(units and discretisation: :mod:`spikegrad.export.discretisation`; ``dt`` in seconds):

==============================  ==========================================================================
layer                           NIR nodes
==============================  ==========================================================================
Dense                           ``Affine(W, b)``, or ``Linear(W)`` without bias
Conv2d                          ``Conv2d(input_shape=(H, W), W, b or 0, stride, padding, dilation)``; groups = 1
AvgPool2d                       ``AvgPool2d(k, stride, padding 0)``
SumPool2d(scale)                ``SumPool2d(k, stride, padding 0)`` then ``Scale(scale)`` if ``scale != 1``
SLAYERPool                      as SumPool2d when the input height and width are even; refused otherwise
Flatten                         ``Flatten(input_type, start_dim=0, end_dim=-1)`` (per-sample dims, as NIR types)
LIF / IF / CUBA, reset to zero  ``LIF(tau, r, v_leak=0, v_thr, v_reset=0)`` / ``IF(r=1/dt, ...)`` / ``CubaLIF``
LIF / IF / CUBA, no reset       ``[LI or I (current)] -> LI or I (membrane) -> Threshold(v_thr)``
reset by subtraction            refused; with ``approximate=True`` written as reset to zero (flagged)
LeakyIntegrator                 ``LI(tau, r, v_leak=0)``, or ``I(r=1/dt)`` when ``beta = 1``
AxonalDelay                     ``Delay(trunc(d / Ts) * dt)`` per neuron, in seconds
TimeFixedDropout                nothing (identity at inference)
SRMNeuron                       refused: truncated alpha kernels and a refractory kernel have no NIR node
SNNSequential, SLAYERBlock      their layers in order
==============================  ==========================================================================

with ``tau = dt / (1 - beta)``, ``r = tau / dt`` (``LIF``, ``LI``), ``tau_syn = dt / (1 - alpha)``,
``w_in = tau_syn / dt`` (``CubaLIF``), and ``v_thr`` from :func:`~spikegrad.export.discretisation.nir_threshold`.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from spikegrad.errors import ConfigError, ExportError, SpikegradError
from spikegrad.export.discretisation import (
    SECONDS_PER_MS,
    euler_tau,
    fires_at_threshold,
    nir_threshold,
    require_nir,
)
from spikegrad.functional.delay import delay_bins
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
    SpikingNeuron,
    StatefulModule,
    SumPool2d,
    TimeFixedDropout,
)
from spikegrad.rules.slayer.layers import SLAYERBlock, SLAYERPool, SRMNeuron

APPROXIMATED = "approximated_layers"
"""Graph metadata key: the layers written approximately (reset by subtraction as reset to zero)."""


@dataclasses.dataclass(frozen=True)
class Layer:
    """One layer of the network being written, with its per-sample input and output shapes."""

    path: str  # "3", or "3.neuron" inside a block
    module: nn.Module
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]

    @property
    def label(self) -> str:
        """How errors name the layer: ``layer 3 (LIF)`` (a shared neuron by its family, else by its class)."""
        kind = self.module.family if type(self.module) is SpikingNeuron else type(self.module).__name__
        return f"layer {self.path} ({kind})"

    @property
    def node_name(self) -> str:
        return self.path.replace(".", "_")


@dataclasses.dataclass(frozen=True)
class WriteOptions:
    """``dt``: the graph's time step in seconds; ``approximate``: write reset by subtraction as reset to zero."""

    dt: float
    approximate: bool


Nodes = list[tuple[str, Any]]  # (suffix of the layer's node name, NIR node); "" for a single node
Writer = Callable[[Layer, WriteOptions], Nodes]


def _array(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().cpu().to(torch.float32).numpy().copy()


def _full(shape: tuple[int, ...], value: float) -> np.ndarray:
    return np.full(shape, value, dtype=np.float64)


def _dense(layer: Layer, options: WriteOptions) -> Nodes:
    nir = require_nir()
    module: Dense = layer.module  # type: ignore[assignment]
    if len(layer.in_shape) != 1:
        raise ExportError(layer.label, f"NIR's Affine/Linear act on one feature axis; the input has shape {layer.in_shape}")
    weight = _array(module.weight)
    node = nir.Linear(weight=weight) if module.bias is None else nir.Affine(weight=weight, bias=_array(module.bias))
    return [("", node)]


def _conv2d(layer: Layer, options: WriteOptions) -> Nodes:
    nir = require_nir()
    module: Conv2d = layer.module  # type: ignore[assignment]
    if module.padding_mode != "zeros":
        raise ExportError(layer.label, f"padding_mode {module.padding_mode!r}: NIR's Conv2d pads with zeros only")
    if module.groups != 1:  # nir 1.0.8 types the input as weight.shape[1] = C_in / groups channels
        raise ExportError(
            layer.label, f"groups={module.groups}: NIR's Conv2d (nir 1.0.8) infers C_in / groups input channels, so a "
            "grouped convolution's graph fails NIR's own type check when read"
        )
    padding = module.padding if isinstance(module.padding, str) else tuple(int(p) for p in module.padding)
    bias = _array(module.bias) if module.bias is not None else np.zeros(module.out_channels, dtype=np.float32)
    node = nir.Conv2d(
        input_shape=tuple(layer.in_shape[1:]), weight=_array(module.weight), stride=tuple(module.stride),
        padding=padding, dilation=tuple(module.dilation), groups=module.groups, bias=bias,
    )
    return [("", node)]


def _pool(node_type: str) -> Writer:
    def write(layer: Layer, options: WriteOptions) -> Nodes:
        nir = require_nir()
        module: AvgPool2d = layer.module  # type: ignore[assignment]
        k, s = module.kernel_size, module.stride
        pool = getattr(nir, node_type)(kernel_size=np.array([k, k]), stride=np.array([s, s]), padding=np.array([0, 0]))
        scale = getattr(module, "scale", 1.0)
        if scale == 1.0:
            return [("", pool)]
        return [("", pool), ("scale", nir.Scale(scale=np.full(layer.out_shape, scale, dtype=np.float32)))]

    return write


def _slayer_pool(layer: Layer, options: WriteOptions) -> Nodes:
    height, width = layer.in_shape[-2:]
    if height % 2 or width % 2:
        raise ExportError(
            layer.label, f"pads an odd input ({height}x{width}) with one zero row/column at the end only; NIR's "
            "SumPool2d pads symmetrically, so only even input sizes are exported"
        )
    return _pool("SumPool2d")(layer, options)


def _flatten(layer: Layer, options: WriteOptions) -> Nodes:
    nir = require_nir()
    return [("", nir.Flatten(input_type={"input": np.array(layer.in_shape)}, start_dim=0, end_dim=-1))]


def _leaky_node(decay: float, shape: tuple[int, ...], dt: float) -> Any:
    """``LI`` with Euler decay ``decay`` and input gain 1 at step ``dt``, or ``I(r = 1/dt)`` for ``decay = 1``."""
    nir = require_nir()
    if decay == 1.0:
        return nir.I(r=_full(shape, 1.0 / dt))
    tau = euler_tau(decay, dt)
    return nir.LI(tau=_full(shape, tau), r=_full(shape, tau / dt), v_leak=_full(shape, 0.0))


@dataclasses.dataclass(frozen=True)
class _Neuron:
    """The constants of one spiking layer as NIR needs them."""

    layer: Layer
    beta: float
    alpha: float | None
    v_threshold: float
    dt: float

    def full(self, value: float) -> np.ndarray:
        return _full(self.layer.out_shape, value)


def _spiking_node(neuron: _Neuron) -> Nodes:
    """Reset to zero: ``IF``, ``LIF`` or ``CubaLIF`` with ``v_reset = 0``."""
    nir = require_nir()
    dt, full = neuron.dt, neuron.full
    v_thr, v_reset = full(neuron.v_threshold), full(0.0)
    if neuron.alpha is None and neuron.beta == 1.0:
        return [("", nir.IF(r=full(1.0 / dt), v_threshold=v_thr, v_reset=v_reset))]
    tau_mem = euler_tau(neuron.beta, dt) if neuron.beta != 1.0 else math.inf
    if neuron.alpha is None:
        return [("", nir.LIF(tau=full(tau_mem), r=full(tau_mem / dt), v_leak=full(0.0), v_threshold=v_thr, v_reset=v_reset))]
    if neuron.beta == 1.0 or neuron.alpha == 1.0:
        raise ExportError(
            neuron.layer.label, "a current-based neuron without leak (beta or alpha = 1) has no NIR node "
            "(CubaLIF needs finite time constants)"
        )
    tau_syn = euler_tau(neuron.alpha, dt)
    node = nir.CubaLIF(
        tau_syn=full(tau_syn), tau_mem=full(tau_mem), r=full(tau_mem / dt), v_leak=full(0.0),
        v_threshold=v_thr, v_reset=v_reset, w_in=full(tau_syn / dt),
    )
    return [("", node)]


def _integrator_threshold(neuron: _Neuron) -> Nodes:
    """No reset: the membrane is a leaky integrator (after one for the current), then ``Threshold``."""
    nir = require_nir()
    shape = neuron.layer.out_shape
    nodes: Nodes = []
    if neuron.alpha is not None:
        nodes.append(("current", _leaky_node(neuron.alpha, shape, neuron.dt)))
    nodes.append(("membrane", _leaky_node(neuron.beta, shape, neuron.dt)))
    nodes.append(("threshold", nir.Threshold(threshold=neuron.full(neuron.v_threshold))))
    return nodes


RESET_FORMS: dict[Reset, Callable[[_Neuron], Nodes]] = {
    Reset.ZERO: _spiking_node,
    Reset.NONE: _integrator_threshold,
    Reset.SUBTRACT: _spiking_node,  # only with approximate=True: the reset becomes reset to zero
}


def subtraction_refusal(layer: str) -> ExportError:
    """The error for a neuron that resets by subtraction, naming the reset and the approximate option."""
    return ExportError(
        layer, "resets by subtraction (v = h - theta * s), which NIR cannot express: its LIF, IF and CubaLIF nodes "
        "set the membrane to v_reset after a spike. Train with reset to zero (recipe setting reset=zero) for an "
        "exact export, or export approximately (approximate=True; CLI --approximate-reset), which writes reset "
        "to zero and reports the measured spike agreement"
    )


def _neuron(layer: Layer, options: WriteOptions) -> Nodes:
    module: SpikingNeuron = layer.module  # type: ignore[assignment]
    params = module.params
    if params.adaptation is not None or module.own is not None:
        what = "an adaptive threshold" if params.adaptation is not None else module.own.spec.describe()
        raise ExportError(layer.label, f"has {what}, which this writer does not map to NIR nodes yet; "
                          "export a network of plain LIF/IF/CUBA layers")
    if params.reset is Reset.SUBTRACT and not options.approximate:
        raise subtraction_refusal(layer.label)
    equal_fires = fires_at_threshold(module, params.threshold)
    neuron = _Neuron(layer, float(params.mem_decay), params.syn_decay, nir_threshold(params.threshold, equal_fires), options.dt)
    nodes = RESET_FORMS[params.reset](neuron)
    if params.reset is Reset.SUBTRACT:
        for _, node in nodes:
            node.metadata = {"spikegrad_approximation": "reset by subtraction written as reset to zero"}
    return nodes


def _leaky_integrator(layer: Layer, options: WriteOptions) -> Nodes:
    module: LeakyIntegrator = layer.module  # type: ignore[assignment]
    return [("", _leaky_node(float(module.beta), layer.out_shape, options.dt))]


def _delay(layer: Layer, options: WriteOptions) -> Nodes:
    nir = require_nir()
    module: AxonalDelay = layer.module  # type: ignore[assignment]
    bins = delay_bins(module.delay, module.ts).expand(layer.out_shape)
    return [("", nir.Delay(delay=bins.cpu().numpy().astype(np.float64) * options.dt))]


def _srm(layer: Layer, options: WriteOptions) -> Nodes:
    raise ExportError(
        layer.label, "SLAYER's SRM neuron cannot be written to NIR exactly: its spike-response and refractory "
        "kernels are sampled alpha kernels truncated below 0.01 (a finite FIR filter), and the refractory kernel "
        "is a spike-triggered feedback; NIR's neuron nodes are first-order ODEs with a fixed reset"
    )


def _nothing(layer: Layer, options: WriteOptions) -> Nodes:
    return []


WRITERS: dict[type, Writer] = {
    Dense: _dense,
    Conv2d: _conv2d,
    AvgPool2d: _pool("AvgPool2d"),
    SumPool2d: _pool("SumPool2d"),
    SLAYERPool: _slayer_pool,
    Flatten: _flatten,
    LIF: _neuron,
    IF: _neuron,
    CUBA: _neuron,
    SpikingNeuron: _neuron,
    LeakyIntegrator: _leaky_integrator,
    AxonalDelay: _delay,
    TimeFixedDropout: _nothing,
    SRMNeuron: _srm,
}
"""Layer type (exact: a subclass may compute something else) -> the NIR nodes that compute the same."""

CONTAINERS: dict[type, Callable[[nn.Module], list[tuple[str, nn.Module | None]]]] = {
    SNNSequential: lambda m: list(m.named_children()),
    SLAYERBlock: lambda m: [("synapse", m.synapse), ("neuron", m.neuron), ("delay", m.delay)],
}
"""Container type -> its layers in the order it runs them."""


def flatten_layers(model: nn.Module, prefix: str = "") -> list[tuple[str, nn.Module]]:
    """The layers of ``model`` in execution order, containers (:data:`CONTAINERS`) expanded, with their paths."""
    children = CONTAINERS.get(type(model))
    if children is None:
        return [(prefix or type(model).__name__, model)]
    layers = []
    for name, child in children(model):
        if child is not None:
            layers += flatten_layers(child, f"{prefix}.{name}" if prefix else name)
    return layers


def _infer_input_shape(layers: list[tuple[str, nn.Module]]) -> tuple[int, ...]:
    for path, module in layers:
        if type(module) is Dense:
            return (module.in_features,)
        if WRITERS.get(type(module)) is not _nothing:
            raise ConfigError(
                "input_shape", f"the first layer {path} ({type(module).__name__}) does not fix the input size; "
                "pass the per-sample input shape, e.g. (C, H, W)"
            )
    raise ConfigError("input_shape", "the network has no layer that fixes the input size; pass input_shape")


@torch.no_grad()
def trace_layers(model: nn.Module, input_shape: Sequence[int] | None) -> list[Layer]:
    """Every layer of ``model`` with its per-sample input and output shapes, found by running zeros through it.

    Unsupported layer types raise :class:`ExportError` naming the layer and the supported types.
    """
    layers = flatten_layers(model)
    for path, module in layers:
        if type(module) not in WRITERS:
            names = ", ".join(sorted(t.__name__ for t in (*WRITERS, *CONTAINERS)))
            raise ExportError(f"layer {path} ({type(module).__name__})", f"no NIR mapping for this layer type; supported: {names}")
    shape = tuple(int(s) for s in input_shape) if input_shape is not None else _infer_input_shape(layers)
    traced = []
    x = torch.zeros((1, 1, *shape))
    training = model.training
    model.eval()
    try:
        for path, module in layers:
            try:
                y = module(x)
            except (SpikegradError, RuntimeError) as err:
                raise ExportError(f"layer {path} ({type(module).__name__})", f"does not accept per-sample input {tuple(x.shape[2:])}: {err}") from None
            y = y[0] if isinstance(module, StatefulModule) else y
            traced.append(Layer(path, module, tuple(x.shape[2:]), tuple(y.shape[2:])))
            x = y
    finally:
        model.train(training)
    return traced


def _model_dt_seconds(layers: list[Layer]) -> float:
    steps = set()
    for layer in layers:
        module = layer.module
        for value in (getattr(getattr(module, "params", None), "dt", None), getattr(module, "dt", None), getattr(module, "ts", None)):
            if isinstance(value, (int, float)):
                steps.add(float(value))
    if not steps:
        raise ConfigError("dt", "no layer of the network states a time step; pass the graph's dt in seconds")
    if len(steps) > 1:
        raise ConfigError("dt", f"the layers use different time steps {sorted(steps)} ms; pass the graph's dt in seconds")
    return steps.pop() * SECONDS_PER_MS


def _producer() -> str:
    try:
        return f"spikegrad {importlib.metadata.version('spikegrad')}"
    except importlib.metadata.PackageNotFoundError:
        return "spikegrad"


def to_nir(
    model: nn.Module, dt: float | None = None, input_shape: Sequence[int] | None = None, approximate: bool = False
) -> Any:
    r"""A ``nir.NIRGraph`` computing what ``model`` computes, step for step, at the time step ``dt``.

    Args:
        model: an :class:`~spikegrad.nn.SNNSequential` (or one layer) of the types in :data:`WRITERS`.
        dt: the graph's time step in **seconds**: the step at which an importer simulates it. Each layer's
            per-step constants are written so that forward Euler at this ``dt`` reproduces them exactly
            (``tau = dt / (1 - beta)``, ``r = tau / dt``; see :mod:`spikegrad.export.discretisation`). None: the
            network's own step (``dt`` of its neurons, in ms, times 1e-3). For snnTorch 1.0.0, whose importer
            assumes 1e-4 s, pass :data:`~spikegrad.export.discretisation.SNNTORCH_DT`.
        input_shape: the per-sample input shape (``(C, H, W)`` for a convolutional network; NIR's Conv2d needs
            it). None: taken from a first Dense layer.
        approximate: write neurons that reset by subtraction as reset to zero (NIR has no subtraction),
            marking them in the graph's metadata (``approximated_layers``) and in each node's metadata.
            Spikes then differ; :func:`spikegrad.export.approximate_agreement` measures by how much.

    Returns:
        A sequential ``nir.NIRGraph`` (``input -> nodes -> output``, node names from the layer paths) whose
        metadata holds ``dt`` (s) and the discretisation it was written for.

    Raises:
        ExportError: a layer NIR cannot express exactly (names the layer and the reason), including reset by
            subtraction without ``approximate``.
        ConfigError: ``dt`` or ``input_shape`` missing or invalid.
    """
    nir = require_nir()
    layers = trace_layers(model, input_shape)
    try:
        dt = _model_dt_seconds(layers) if dt is None else dt
    except ConfigError:  # a layer that cannot be written at all is the more useful error
        for layer in layers:
            WRITERS[type(layer.module)](layer, WriteOptions(1.0, approximate))
        raise
    if not (isinstance(dt, (int, float)) and math.isfinite(dt) and dt > 0):
        raise ConfigError("dt", f"the graph's time step must be a finite number of seconds > 0, got {dt!r}")
    options = WriteOptions(float(dt), approximate)
    in_shape = layers[0].in_shape if layers else tuple(input_shape or ())
    nodes: dict[str, Any] = {"input": nir.Input(input_type=np.array(in_shape))}
    approximated = []
    for layer in layers:
        written = WRITERS[type(layer.module)](layer, options)
        if isinstance(layer.module, SpikingNeuron) and layer.module.params.reset is Reset.SUBTRACT:
            approximated.append(layer.path)
        for suffix, node in written:
            nodes[f"{layer.node_name}_{suffix}" if suffix else layer.node_name] = node
    out_shape = layers[-1].out_shape if layers else in_shape
    nodes["output"] = nir.Output(output_type=np.array(out_shape))
    names = list(nodes)
    metadata = {
        "dt": options.dt,
        "time_unit": "s",
        "discretisation": "forward Euler at dt: v_t = (1 - dt/tau) v_(t-1) + (r dt/tau) I_t; CubaLIF current updated first",
        "producer": _producer(),
    }
    if approximated:
        metadata[APPROXIMATED] = ",".join(approximated)
    try:
        return nir.NIRGraph(nodes=nodes, edges=list(itertools.pairwise(names)), metadata=metadata)
    except (ValueError, AssertionError) as err:
        raise ExportError("NIR graph", f"the written graph does not type-check: {err}") from None
