"""Run configuration: the typed options every run has, the recipe's typed settings, and ``--set`` overrides.

A run is described by a :class:`RunConfig`: options the trainer honours for every recipe (epochs,
optimiser, schedule, seed, device, ...) plus ``settings``, the recipe family's frozen
:class:`~spikegrad.train.settings.Settings`. ``--set key=value`` reaches either, converted by type; an
unknown key, a wrong type or an option the recipe cannot use is a :class:`~spikegrad.errors.ConfigError`.
"""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path
from typing import Any, Literal, Mapping

import torch
import yaml

from spikegrad.errors import ConfigError
from spikegrad.train.settings import Settings, convert

Optimizer = Literal["adam", "adamw", "sgd"]
Schedule = Literal["constant", "cosine", "exponential", "step"]
Amp = Literal["none", "bf16"]
SynapseModeName = Literal["auto", "dense", "event"]
MAX_SEED = 2**63 - 1


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """Everything that decides a training run.

    Attributes:
        recipe: recipe name (``spikegrad recipes`` lists them).
        settings: the recipe's own settings (a frozen :class:`~spikegrad.train.settings.Settings`).
        method: learning rule (``bptt``, ``slayer``, ...); the recipe says which it supports.
        epochs, batch_size: training length and mini-batch size.
        eval_batch_size: samples per forward pass at evaluation (bounds memory of long event samples).
        lr, weight_decay, optimizer: optimiser settings (``adam``, ``adamw``, ``sgd``).
        momentum: SGD's momentum (``sgd`` only).
        schedule: learning-rate schedule per epoch: ``constant``, ``cosine`` (to 0 at the last epoch),
            ``exponential`` (factor ``lr_gamma`` per epoch) or ``step`` (``lr_gamma`` at ``lr_milestones``).
        grad_clip: clip the global gradient norm to this value (0 = off).
        seed: seeds every random draw (initialisation, shuffling, encoding, dropout).
        device: ``cpu``, ``cuda`` or ``cuda:N``.
        amp: ``bf16`` runs the network's forward pass under ``torch.autocast(bfloat16)`` (synapses in bf16;
            every neuron integrates its membrane in float32: :func:`spikegrad.types.full_precision`);
            ``none``: float32 throughout.
        synapse_mode: how every :class:`~spikegrad.nn.Dense` synapse multiplies its input
            (:mod:`spikegrad.nn.synapse_mode`): ``auto`` (the event path for sparse CPU inputs), ``dense`` or
            ``event``; a recipe whose network has no such layer refuses ``dense``/``event``.
        compile: run every neuron scan's backward pass compiled for the CPU
            (:mod:`spikegrad.functional.compiled_scan`: chunks of steps fused by ``torch.compile``;
            ``compile_seconds`` in ``summary.json``); a run that is not on the CPU, or whose network has
            no shared neuron layer (the ``slayer-*`` SRM networks, Lee, NA and NormAD run their own neuron
            models) or an adaptive or trainable one, refuses it.
        data_dir: the dataset's folder, or None to use ``$SPIKEGRAD_DATA/<dataset>``.
    """

    recipe: str
    settings: Settings
    method: str = "bptt"
    epochs: int = 10
    batch_size: int = 64
    eval_batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 0.0
    optimizer: Optimizer = "adam"
    momentum: float = 0.9
    schedule: Schedule = "constant"
    lr_gamma: float = 0.1
    lr_milestones: tuple[int, ...] = ()
    grad_clip: float = 0.0
    seed: int = 0
    device: str = "cpu"
    data_dir: str | None = None
    amp: Amp = "none"
    synapse_mode: SynapseModeName = "auto"
    compile: bool = False

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(RunConfig)
        for field in dataclasses.fields(self):
            if field.name != "settings":
                value = convert(field.name, getattr(self, field.name), hints[field.name], run_options_help)
                object.__setattr__(self, field.name, value)
        if not isinstance(self.settings, Settings):
            raise ConfigError("settings", f"expected a Settings object, got {type(self.settings).__name__}")
        _require(self.epochs >= 1, "epochs", f"must be >= 1, got {self.epochs}")
        _require(self.batch_size >= 1, "batch_size", f"must be >= 1, got {self.batch_size}")
        _require(self.eval_batch_size >= 1, "eval_batch_size", f"must be >= 1, got {self.eval_batch_size}")
        _require(0 < self.lr < float("inf"), "lr", f"must be a finite number > 0, got {self.lr}")
        _require(0 <= self.weight_decay < float("inf"), "weight_decay", f"must be >= 0, got {self.weight_decay}")
        _require(0 <= self.momentum < 1, "momentum", f"must lie in [0, 1), got {self.momentum}")
        _require(0 < self.lr_gamma < float("inf"), "lr_gamma", f"must be a finite number > 0, got {self.lr_gamma}")
        milestones = self.lr_milestones
        _require(all(m >= 1 for m in milestones) and list(milestones) == sorted(set(milestones)), "lr_milestones",
                 f"must be increasing epoch numbers >= 1, got {list(milestones)}")
        _require(0 <= self.grad_clip < float("inf"), "grad_clip", f"must be >= 0 (0 = off), got {self.grad_clip}")
        _require(0 <= self.seed <= MAX_SEED, "seed", f"must lie in 0..{MAX_SEED}, got {self.seed}")
        _require(self.device == "cpu" or self.device == "cuda" or (self.device.startswith("cuda:")
                 and self.device[5:].isdigit()), "device", f"expected 'cpu', 'cuda' or 'cuda:N', got {self.device!r}")

    def resolve_device(self) -> torch.device:
        """The run's device, checked to exist on this machine (ConfigError otherwise)."""
        if self.device != "cpu":
            if not torch.cuda.is_available():
                raise ConfigError("device", f"{self.device!r} was asked for, but this torch ({torch.__version__}) "
                                  "has no usable CUDA device; use --device cpu")
            index = int(self.device[5:]) if ":" in self.device else 0
            if index >= torch.cuda.device_count():
                raise ConfigError("device", f"{self.device!r}: this machine has {torch.cuda.device_count()} "
                                  "CUDA device(s)")
        return torch.device(self.device)

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["lr_milestones"] = list(self.lr_milestones)
        out["settings"] = self.settings.to_dict()
        return out


def _require(ok: bool, option: str, message: str) -> None:
    if not ok:
        raise ConfigError(option, message)


RUN_OPTIONS = tuple(f.name for f in dataclasses.fields(RunConfig) if f.name not in ("recipe", "settings"))


def run_options_help() -> str:
    """The run options with their types, for error messages."""
    hints = typing.get_type_hints(RunConfig)
    from spikegrad.train.settings import type_name

    return "; ".join(f"{name} ({type_name(hints[name])})" for name in RUN_OPTIONS)


def apply_overrides(config: RunConfig, overrides: Mapping[str, Any], unused: Mapping[str, str] | None = None) -> RunConfig:
    """A new config with ``overrides`` applied (``{"epochs": "3", "hidden": "64"}``).

    Keys are run options or the recipe's settings (also accepted as ``settings.<key>``); string values are
    converted by type. ``unused`` maps run options the recipe cannot use to the reason: overriding one
    raises a ConfigError naming the option, the recipe and the reason.
    """
    unused = unused or {}
    top: dict[str, Any] = {}
    settings: dict[str, Any] = {}
    setting_names = {f.name for f in dataclasses.fields(config.settings)}
    for key, value in overrides.items():
        name = key.removeprefix("settings.")
        if key in RUN_OPTIONS:
            if key in unused:
                raise ConfigError(key, f"recipe {config.recipe!r} does not use it: {unused[key]}")
            top[key] = value
        elif name in setting_names:
            settings[name] = value
        else:
            valid = f"run options: {run_options_help()}; settings: {config.settings._keys()}"
            raise ConfigError(key, f"unknown option for recipe {config.recipe!r}; valid options are {valid}")
    merged = dataclasses.replace(config, **top, settings=config.settings.with_overrides(settings))
    if "momentum" in top and merged.optimizer != "sgd":
        raise ConfigError("momentum", f"only SGD has a momentum; this run's optimizer is {merged.optimizer!r}")
    if "lr_gamma" in top and merged.schedule not in ("exponential", "step"):
        raise ConfigError("lr_gamma", f"only the exponential and step schedules decay by it; this run's schedule "
                          f"is {merged.schedule!r}")
    if "lr_milestones" in top and merged.schedule != "step":
        raise ConfigError("lr_milestones", f"only the step schedule has milestones; this run's schedule is "
                          f"{merged.schedule!r}")
    return merged


def parse_set_options(items: list[str]) -> dict[str, str]:
    """Parse ``["key=value", ...]`` from ``--set``; a malformed item raises ConfigError."""
    parsed = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError("--set", f"expected key=value (one pair per --set), got {item!r}")
        parsed[key.strip()] = value.strip()
    return parsed


def save_config(config: RunConfig, path: Path) -> None:
    path.write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))


def read_config(path: Path, settings_class: type[Settings] | None = None) -> RunConfig:
    """Read a resolved ``config.yaml`` written by :func:`save_config`.

    ``settings_class`` is the recipe's settings type; None looks the recipe up by the name in the file.
    """
    if not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "does not exist"
        raise ConfigError("run_dir", f"{path} {what}: is {path.parent} a spikegrad run directory?")
    try:
        raw = yaml.safe_load(path.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise ConfigError(str(path), f"not valid YAML: {err}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("recipe"), str):
        raise ConfigError(str(path), "expected a mapping with at least a 'recipe' name")
    known = {f.name for f in dataclasses.fields(RunConfig)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(str(path), f"unknown keys {unknown}; expected {sorted(known)}")
    if settings_class is None:
        from spikegrad.train.recipe import get_recipe

        settings_class = type(get_recipe(raw["recipe"]).defaults.settings)
    try:
        return RunConfig(**{**raw, "settings": settings_class.from_dict(raw.get("settings") or {})})
    except ConfigError as err:
        raise ConfigError(str(path), str(err)) from None
