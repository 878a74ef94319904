"""Named recipes: a default configuration (with typed settings) plus a function that builds the experiment.

Recipes live in the modules of :mod:`spikegrad.train.recipes`; each registers itself with
:func:`register`. The registry imports every module of that package on first use, so adding a recipe
means adding a file.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import torch

from spikegrad.errors import ConfigError
from spikegrad.nn.neurons import set_compiled_scans
from spikegrad.nn.synapse_mode import set_synapse_mode
from spikegrad.train.config import RunConfig, apply_overrides
from spikegrad.train.experiment import Experiment

NO_DATA = "the recipe generates its data (no --data-dir)"


@dataclasses.dataclass(frozen=True)
class Recipe:
    """A named experiment.

    Attributes:
        name: what ``spikegrad train NAME`` takes.
        summary: one line for ``spikegrad recipes``.
        defaults: the full default configuration (its ``settings`` fix the recipe's own settings).
        methods: the learning rules this recipe can train with; the first is the default.
        build: builds the experiment from a resolved configuration.
        needs_data: whether it reads a dataset from ``--data-dir`` / ``$SPIKEGRAD_DATA``.
        unused: run options this recipe cannot use, each with the reason (overriding one is refused).
        method_defaults: options that differ by rule (``{"bptt": {"optimizer": "adam", "lr": "50"}}``), applied
            before the user's overrides when that rule is chosen.
    """

    name: str
    summary: str
    defaults: RunConfig
    methods: tuple[str, ...]
    build: Callable[[RunConfig], Experiment]
    needs_data: bool = True
    unused: Mapping[str, str] = dataclasses.field(default_factory=dict)
    method_defaults: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        unused = dict(self.unused)
        if not self.needs_data:
            unused.setdefault("data_dir", NO_DATA)
        object.__setattr__(self, "unused", MappingProxyType(unused))

    def configure(self, overrides: Mapping[str, Any]) -> RunConfig:
        """The defaults with ``overrides`` applied (run options and settings; see :func:`apply_overrides`)."""
        method = str(overrides.get("method", self.defaults.method))
        self.check_method(method)
        defaults = apply_overrides(self.defaults, {"method": method, **self.method_defaults.get(method, {})})
        return apply_overrides(defaults, overrides, self.unused)

    def check_method(self, method: str) -> None:
        if method not in self.methods:
            raise ConfigError("method", f"recipe {self.name!r} trains with {', '.join(self.methods)}; got {method!r}")


_RECIPES: dict[str, Recipe] = {}
_loaded = False


def register(recipe: Recipe) -> Recipe:
    if recipe.name in _RECIPES:
        raise ConfigError("recipe", f"two recipes are named {recipe.name!r}")
    if recipe.defaults.recipe != recipe.name or recipe.defaults.method != recipe.methods[0]:
        raise ConfigError("recipe", f"{recipe.name!r}: defaults must name the recipe and its first method")
    _RECIPES[recipe.name] = recipe
    return recipe


def _load_all() -> None:
    global _loaded
    if not _loaded:
        from spikegrad.train import recipes

        for module in pkgutil.iter_modules(recipes.__path__):
            importlib.import_module(f"{recipes.__name__}.{module.name}")
        _loaded = True


def list_recipes() -> list[Recipe]:
    _load_all()
    return sorted(_RECIPES.values(), key=lambda r: r.name)


def get_recipe(name: str) -> Recipe:
    _load_all()
    if name not in _RECIPES:
        raise ConfigError("recipe", f"unknown recipe {name!r}; `spikegrad recipes` lists: {', '.join(sorted(_RECIPES))}")
    return _RECIPES[name]


def build_experiment(config: RunConfig) -> Experiment:
    """Check the method and device against the recipe, seed the initialisation, and build the experiment."""
    recipe = get_recipe(config.recipe)
    recipe.check_method(config.method)
    if not isinstance(config.settings, type(recipe.defaults.settings)):
        raise ConfigError("settings", f"recipe {recipe.name!r} takes {type(recipe.defaults.settings).__name__}, "
                          f"got {type(config.settings).__name__}")
    config.resolve_device()  # refuses a device this machine does not have, for every recipe
    torch.manual_seed(config.seed)
    experiment = recipe.build(config)
    layers = set_synapse_mode(experiment.model, config.synapse_mode)
    if layers == 0 and config.synapse_mode != "auto":
        raise ConfigError("synapse_mode", f"recipe {recipe.name!r} has no Dense synapse layer to run in "
                          f"{config.synapse_mode!r} mode (its rule computes its own synaptic currents)")
    if config.compile:
        if config.device != "cpu":
            raise ConfigError("compile", f"compiles the neuron scans for the CPU; on {config.device!r} the Triton "
                              "kernels run")
        if set_compiled_scans(experiment.model, True) == 0:
            raise ConfigError("compile", f"recipe {recipe.name!r} with {config.method} has no shared neuron scan to "
                              "compile (its rule runs its own neuron model)")
    return experiment
