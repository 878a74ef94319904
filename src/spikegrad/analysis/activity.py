r"""Sparse event-driven inference analysis: spikes per neuron, synaptic operations and energy per layer.

For a spiking network run on ``samples`` inputs of ``T`` steps (time-first ``[T, B, ...]``):

- **Spikes per neuron per sample** of every spiking layer: output events (non-zero entries) over the
  window, divided by the layer's neurons and the samples.
- **Synaptic operations (SynOps)** of every weight layer (``nn.Conv2d``, ``nn.Linear``): each input
  event triggers one accumulate (AC) per postsynaptic target,

  .. math:: \text{ACs} = \sum_{t=1}^{T}\sum_j |s_j[t]|_0\,\mathrm{fanout}_j

  with :math:`\mathrm{fanout}_j = N_{out}` for a dense layer and :math:`(C_{out}/\text{groups})\times`
  (the number of output positions whose receptive field holds input pixel :math:`j`) for a convolution,
  i.e. :math:`C_{out}k^2` inside the image and less at the borders and with strides. The first layer
  counts the input spikes (signed spikes count once each).
- **ANN MACs** of the same layer: the per-neuron fan-in times the number of output neurons, once per
  inference (:math:`C_{out}H_{out}W_{out}\cdot(C_{in}/\text{groups})k^2`, or :math:`N_{in}N_{out}`).
- **Energy**: ACs :math:`\times E_{AC}` against MACs :math:`\times E_{MAC}`, by default the 45 nm
  32-bit float figures of Horowitz (ISSCC 2014): :math:`E_{MAC} = 4.6` pJ, :math:`E_{AC} = 0.9` pJ.
  Which constants Lee et al. used is UNVERIFIED; they are parameters (:class:`EnergyModel`).

Pooling layers have no weights and are not counted on either side; the spiking pooling neurons appear
as neuron layers. Counts are exact for the spikes the network actually produced on these inputs.

Example (oracle A12.8): a dense 1024 -> 10 layer receiving 500 spikes in the window costs 5 000 ACs;
the ANN layer costs 10 240 MACs.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import json
import math
from pathlib import Path
from typing import Any, Iterable

import torch
import torch.nn.functional as F
from torch import nn

from spikegrad.errors import ConfigError, ShapeError
from spikegrad.nn.base import SpikingLayer, recording


@dataclasses.dataclass(frozen=True)
class EnergyModel:
    """Energy per operation in picojoules (defaults: 45 nm, 32-bit float; Horowitz, ISSCC 2014)."""

    e_mac_pj: float = 4.6
    e_ac_pj: float = 0.9

    def __post_init__(self) -> None:
        for name in ("e_mac_pj", "e_ac_pj"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ConfigError(name, f"energy per operation must be a finite number > 0 pJ, got {value!r}")


@dataclasses.dataclass
class SynapseActivity:
    """Counts of one weight layer, summed over all samples and steps seen.

    Attributes:
        name: the module's path in the network (``"3"``, ``"5.conv2"``).
        kind: a short description (``"conv 5x5 20->50"``, ``"fc 200->10"``).
        presynaptic_neurons: input neurons per sample (``C H W`` or ``N_in``).
        input_events: presynaptic spikes (non-zero inputs) over all samples and steps.
        synops: accumulates triggered by those spikes (event x fan-out), over all samples.
        ann_macs_per_sample: MACs of the equivalent ANN layer for one inference.
        samples: number of samples seen.
        position: the order in which the layer first ran (rows are listed in this order).
    """

    name: str
    kind: str
    presynaptic_neurons: int
    input_events: float = 0.0
    synops: float = 0.0
    ann_macs_per_sample: int = 0
    samples: int = 0
    position: int = 0

    @property
    def input_spikes_per_neuron(self) -> float:
        """Presynaptic spikes per input neuron per sample over the window."""
        return self.input_events / max(self.presynaptic_neurons * self.samples, 1)

    @property
    def synops_per_sample(self) -> float:
        return self.synops / max(self.samples, 1)


@dataclasses.dataclass
class NeuronActivity:
    """Output spikes of one spiking layer, summed over all samples and steps seen."""

    name: str
    kind: str
    neurons: int
    spikes: float = 0.0
    samples: int = 0
    position: int = 0

    @property
    def spikes_per_neuron(self) -> float:
        """Spikes per neuron per sample over the window."""
        return self.spikes / max(self.neurons * self.samples, 1)


@dataclasses.dataclass
class ActivityReport:
    """Per-layer activity, operation counts and energy of one analysis run."""

    synapses: list[SynapseActivity]
    neurons: list[NeuronActivity]
    samples: int
    steps: int
    energy: EnergyModel = EnergyModel()

    @property
    def synops_per_sample(self) -> float:
        return sum(layer.synops_per_sample for layer in self.synapses)

    @property
    def ann_macs_per_sample(self) -> int:
        return sum(layer.ann_macs_per_sample for layer in self.synapses)

    def snn_energy_pj(self, layer: SynapseActivity | None = None) -> float:
        """SNN energy per sample (pJ) of ``layer`` or of the whole network."""
        ops = self.synops_per_sample if layer is None else layer.synops_per_sample
        return ops * self.energy.e_ac_pj

    def ann_energy_pj(self, layer: SynapseActivity | None = None) -> float:
        """ANN energy per sample (pJ) of ``layer`` or of the whole network."""
        ops = self.ann_macs_per_sample if layer is None else layer.ann_macs_per_sample
        return ops * self.energy.e_mac_pj

    def rows(self) -> list[dict[str, Any]]:
        """One flat row per layer, in the order the layers ran, for CSV and tables."""
        out: list[tuple[int, dict[str, Any]]] = []
        for layer in self.synapses:
            out.append((layer.position, {
                "role": "synapse", "layer": layer.name, "kind": layer.kind, "neurons": layer.presynaptic_neurons,
                "spikes_per_neuron_per_sample": layer.input_spikes_per_neuron,
                "synops_per_sample": layer.synops_per_sample, "ann_macs_per_sample": layer.ann_macs_per_sample,
                "ops_ratio_snn_over_ann": layer.synops_per_sample / max(layer.ann_macs_per_sample, 1),
                "snn_energy_uj": self.snn_energy_pj(layer) * 1e-6, "ann_energy_uj": self.ann_energy_pj(layer) * 1e-6,
            }))
        for layer in self.neurons:
            out.append((layer.position, {"role": "neuron", "layer": layer.name, "kind": layer.kind,
                                         "neurons": layer.neurons, "spikes_per_neuron_per_sample": layer.spikes_per_neuron}))
        return [row for _, row in sorted(out, key=lambda item: item[0])]

    def totals(self) -> dict[str, float]:
        snn, ann = self.snn_energy_pj(), self.ann_energy_pj()
        return {
            "samples": self.samples, "steps": self.steps, "synops_per_sample": self.synops_per_sample,
            "ann_macs_per_sample": self.ann_macs_per_sample,
            "ops_ratio_snn_over_ann": self.synops_per_sample / max(self.ann_macs_per_sample, 1),
            "snn_energy_uj": snn * 1e-6, "ann_energy_uj": ann * 1e-6,
            "energy_ratio_ann_over_snn": ann / snn if snn > 0 else math.inf,
            "e_mac_pj": self.energy.e_mac_pj, "e_ac_pj": self.energy.e_ac_pj,
        }

    def to_dict(self) -> dict[str, Any]:
        return {"totals": self.totals(), "layers": self.rows()}

    def write(self, folder: Path, stem: str = "activity") -> dict[str, Path]:
        """Write ``<stem>.json`` and ``<stem>.csv`` into ``folder``; returns their paths."""
        folder = Path(folder)
        json_path, csv_path = folder / f"{stem}.json", folder / f"{stem}.csv"
        json_path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        rows = self.rows()
        columns = list(dict.fromkeys(key for row in rows for key in row))
        with open(csv_path, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)
        return {"json": json_path, "csv": csv_path}


def conv_coverage(module: nn.Conv2d, height: int, width: int) -> torch.Tensor:
    """How many output positions of ``module`` read each input pixel of an ``height x width`` map: ``[H, W]``.

    Computed exactly as the gradient of ``sum(conv(ones, ones))`` with the module's kernel size, stride,
    padding and dilation (so borders, strides and padding are all accounted for).
    """
    if module.padding_mode != "zeros":
        raise ConfigError("padding_mode", f"only zero padding is supported, got {module.padding_mode!r}")
    with torch.enable_grad():
        ones = torch.ones(1, 1, height, width, dtype=torch.float64, requires_grad=True)
        kernel = torch.ones(1, 1, *module.kernel_size, dtype=torch.float64)
        out = F.conv2d(ones, kernel, stride=module.stride, padding=module.padding, dilation=module.dilation)
        (grad,) = torch.autograd.grad(out.sum(), ones)
    return grad[0, 0]


def _describe(module: nn.Module) -> str:
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        stride = f" s{module.stride[0]}" if module.stride != (1, 1) else ""
        return f"conv {kh}x{kw} {module.in_channels}->{module.out_channels}{stride}"
    assert isinstance(module, nn.Linear)
    return f"fc {module.in_features}->{module.out_features}"






class ActivityMonitor:
    """Count spikes and synaptic operations of ``model`` while it runs (a context manager).

    Hooks every ``nn.Conv2d`` / ``nn.Linear`` (weight layers; inputs time-first ``[T, B, ...]``) and every
    spiking layer (a :class:`~spikegrad.nn.SpikingLayer`, whose spikes it records while running, whatever
    the layer outputs). Layers are reported in the order in which they first ran.

    Example::

        with ActivityMonitor(model) as monitor:
            model(spikes)
        report = monitor.report(EnergyModel(e_mac_pj=4.6, e_ac_pj=0.9))
    """

    def __init__(self, model: nn.Module):
        self.model = model
        self._recording: contextlib.AbstractContextManager | None = None
        self._synapses: dict[str, SynapseActivity] = {}
        self._neurons: dict[str, NeuronActivity] = {}
        self._coverage: dict[tuple[str, int, int], torch.Tensor] = {}
        self._handles: list[Any] = []
        self.samples = 0
        self.steps = 0

    def __enter__(self) -> "ActivityMonitor":
        self._handles.append(self.model.register_forward_pre_hook(self._on_input))
        for name, module in self.model.named_modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                self._handles.append(module.register_forward_hook(
                    lambda mod, args, out, name=name: self._on_synapse(name, mod, args[0], out)))
            elif isinstance(module, SpikingLayer):
                self._handles.append(module.register_forward_hook(
                    lambda mod, args, out, name=name: self._on_neuron(name, mod)))
        self._recording = recording(self.model)
        self._recording.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        if self._recording is not None:
            self._recording.__exit__(*exc)
            self._recording = None

    def _next_position(self) -> int:
        return len(self._synapses) + len(self._neurons)

    def _on_input(self, module: nn.Module, args: tuple) -> None:
        x = args[0]
        if not isinstance(x, torch.Tensor) or x.dim() < 3:
            raise ShapeError("network input", "[T, B, features...] (time first)", tuple(getattr(x, "shape", ())))
        self.samples += x.shape[1]
        self.steps = x.shape[0]

    def _on_synapse(self, name: str, module: nn.Module, x: torch.Tensor, out: torch.Tensor) -> None:
        events = x.detach() != 0
        if isinstance(module, nn.Conv2d):
            if x.dim() != 5:
                raise ShapeError(f"{name} input", "[T, B, C, H, W]", tuple(x.shape))
            height, width = x.shape[-2:]
            key = (name, height, width)
            if key not in self._coverage:
                self._coverage[key] = conv_coverage(module, height, width).to(x.device)
            per_pixel = events.sum(dim=(0, 2), dtype=torch.float64)  # [B, H, W]
            fanout_per_channel = module.out_channels // module.groups
            synops = float((per_pixel * self._coverage[key]).sum()) * fanout_per_channel
            presynaptic = int(x.shape[2] * height * width)
            out_neurons = math.prod(out.shape[2:])
            macs = out_neurons * (module.in_channels // module.groups) * math.prod(module.kernel_size)
        else:
            if x.dim() < 3:
                raise ShapeError(f"{name} input", "[T, B, features]", tuple(x.shape))
            count = float(events.sum(dtype=torch.float64))
            synops = count * module.out_features
            presynaptic = module.in_features
            macs = module.in_features * module.out_features
        if name not in self._synapses:
            self._synapses[name] = SynapseActivity(name, _describe(module), presynaptic, ann_macs_per_sample=macs,
                                                   position=self._next_position())
        entry = self._synapses[name]
        entry.input_events += float(events.sum(dtype=torch.float64))
        entry.synops += synops

    def _on_neuron(self, name: str, module: SpikingLayer) -> None:
        spikes = module.recorded_spikes
        if name not in self._neurons:
            self._neurons[name] = NeuronActivity(name, module.kind, math.prod(spikes.shape[2:]),
                                                 position=self._next_position())
        entry = self._neurons[name]
        entry.spikes += float((spikes.detach() != 0).sum(dtype=torch.float64))

    def report(self, energy: EnergyModel = EnergyModel()) -> ActivityReport:
        """The counts so far, per sample (every layer is credited with all samples the network saw)."""
        for entry in [*self._synapses.values(), *self._neurons.values()]:
            entry.samples = self.samples
        return ActivityReport(list(self._synapses.values()), list(self._neurons.values()), self.samples,
                              self.steps, energy)


@torch.no_grad()
def measure_activity(model: nn.Module, batches: Iterable[torch.Tensor], energy: EnergyModel = EnergyModel()) -> ActivityReport:
    """Run ``model`` (in eval mode) on each spike batch ``[T, B, ...]`` and return its :class:`ActivityReport`."""
    was_training = model.training
    model.eval()
    try:
        with ActivityMonitor(model) as monitor:
            for spikes in batches:
                model(spikes)
    finally:
        model.train(was_training)
    return monitor.report(energy)
