"""Run configuration: the typed fields every run has, the recipe's own settings, and ``--set`` overrides.

A run is described by a :class:`RunConfig`. Its ``params`` mapping holds the recipe's own settings (time
steps, layer sizes, surrogate, ...); the recipe's defaults fix their names and types, so an override of
an unknown key or of the wrong type is refused with a :class:`~spikegrad.errors.ConfigError`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Mapping

import yaml

from spikegrad.errors import ConfigError

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("constant", "cosine", "exponential", "step")


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """Everything that decides a training run.

    Attributes:
        recipe: recipe name (``spikegrad recipes`` lists them).
        method: learning rule (``bptt``, ``slayer``, ...); the recipe says which it supports.
        epochs, batch_size: training length and mini-batch size.
        lr, weight_decay, optimizer: optimiser settings (``adam``, ``adamw``, ``sgd``).
        schedule: learning-rate schedule per epoch: ``constant``, ``cosine`` (to 0 at the last epoch),
            ``exponential`` (factor ``lr_gamma`` per epoch) or ``step`` (``lr_gamma`` at ``lr_milestones``).
        grad_clip: clip the global gradient norm to this value (0 = off).
        seed: seeds every random draw (initialisation, shuffling, encoding, dropout).
        device: ``cpu`` or ``cuda``.
        data_dir: the dataset's folder, or None to use ``$SPIKEGRAD_DATA/<dataset>``.
        params: the recipe's own settings.
    """

    recipe: str
    method: str = "bptt"
    epochs: int = 10
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.0
    optimizer: str = "adam"
    schedule: str = "constant"
    lr_gamma: float = 0.1
    lr_milestones: tuple[int, ...] = ()
    grad_clip: float = 0.0
    seed: int = 0
    device: str = "cpu"
    data_dir: str | None = None
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        _require(self.epochs >= 1, "epochs", f"must be >= 1, got {self.epochs}")
        _require(self.batch_size >= 1, "batch_size", f"must be >= 1, got {self.batch_size}")
        _require(self.lr > 0, "lr", f"must be > 0, got {self.lr}")
        _require(self.weight_decay >= 0, "weight_decay", f"must be >= 0, got {self.weight_decay}")
        _require(self.grad_clip >= 0, "grad_clip", f"must be >= 0, got {self.grad_clip}")
        _require(self.optimizer in OPTIMIZERS, "optimizer", f"expected one of {OPTIMIZERS}, got {self.optimizer!r}")
        _require(self.schedule in SCHEDULES, "schedule", f"expected one of {SCHEDULES}, got {self.schedule!r}")
        _require(self.device == "cpu" or self.device.startswith("cuda"), "device", f"expected 'cpu' or 'cuda', got {self.device!r}")
        object.__setattr__(self, "lr_milestones", tuple(self.lr_milestones))
        object.__setattr__(self, "params", {k: tuple(v) if isinstance(v, list) else v for k, v in self.params.items()})

    def param(self, key: str) -> Any:
        """The recipe setting ``key`` (a ConfigError names the missing key)."""
        try:
            return self.params[key]
        except KeyError:
            raise ConfigError(key, f"recipe {self.recipe!r} has no setting {key!r}") from None

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["lr_milestones"] = list(self.lr_milestones)
        out["params"] = {k: list(v) if isinstance(v, tuple) else v for k, v in self.params.items()}
        return out


def _require(ok: bool, option: str, message: str) -> None:
    if not ok:
        raise ConfigError(option, message)


_TOP_FIELDS = {f.name: f for f in dataclasses.fields(RunConfig) if f.name not in ("recipe", "params")}


def _coerce(option: str, text: Any, like: Any) -> Any:
    """Convert an override to the type of the default ``like``; a ConfigError says what was expected."""
    if not isinstance(text, str):
        return text
    try:
        if isinstance(like, bool):
            lowered = text.strip().lower()
            if lowered not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError
            return lowered in ("true", "1", "yes")
        if isinstance(like, int):
            return int(text)
        if isinstance(like, float):
            return float(text)
        if isinstance(like, (tuple, list)):
            value = yaml.safe_load(text)
            return tuple(value if isinstance(value, list) else [value])
        if like is None:
            return None if text.lower() in ("none", "null", "") else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError):
        raise ConfigError(option, f"expected a value of type {type(like).__name__}, got {text!r}") from None
    return text


def apply_overrides(config: RunConfig, overrides: Mapping[str, Any]) -> RunConfig:
    """A new config with ``overrides`` applied (``{"epochs": "3", "hidden": "64"}``).

    Keys are RunConfig fields or the recipe's settings (also accepted as ``params.<key>``). Values given as
    strings are converted to the type of the current value.
    """
    top: dict[str, Any] = {}
    params = dict(config.params)
    for key, value in overrides.items():
        name = key.removeprefix("params.")
        if key in _TOP_FIELDS:
            top[key] = _coerce(key, value, getattr(config, key))
        elif name in params:
            params[name] = _coerce(name, value, params[name])
        else:
            valid = sorted(set(_TOP_FIELDS) | set(params))
            raise ConfigError(key, f"unknown option for recipe {config.recipe!r}; valid options: {', '.join(valid)}")
    return dataclasses.replace(config, **top, params=params)


def parse_set_options(items: list[str]) -> dict[str, str]:
    """Parse ``["key=value", ...]`` from ``--set``; a malformed item raises ConfigError."""
    parsed = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError("--set", f"expected key=value, got {item!r}")
        parsed[key.strip()] = value.strip()
    return parsed


def save_config(config: RunConfig, path: Path) -> None:
    path.write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))


def load_config(path: Path) -> RunConfig:
    """Read a resolved ``config.yaml`` written by :func:`save_config`."""
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError("run_dir", f"{path} does not exist: is this a spikegrad run directory?") from None
    except yaml.YAMLError as err:
        raise ConfigError(str(path), f"not valid YAML: {err}") from None
    if not isinstance(raw, dict) or "recipe" not in raw:
        raise ConfigError(str(path), "expected a mapping with at least a 'recipe' key")
    known = {f.name for f in dataclasses.fields(RunConfig)}
    unknown = set(raw) - known
    if unknown:
        raise ConfigError(str(path), f"unknown keys {sorted(unknown)}")
    return RunConfig(**raw)
