"""Training: run configuration, recipes, the classification experiment, the trainer loop."""

from spikegrad.train.classification import ClassificationExperiment, ClassificationParts
from spikegrad.train.config import RunConfig, apply_overrides, load_config
from spikegrad.train.experiment import Experiment
from spikegrad.train.recipe import (
    Recipe,
    build_experiment,
    get_recipe,
    list_recipes,
    register,
)
from spikegrad.train.trainer import Trainer

__all__ = [
    "ClassificationExperiment",
    "ClassificationParts",
    "Experiment",
    "Recipe",
    "RunConfig",
    "Trainer",
    "apply_overrides",
    "build_experiment",
    "get_recipe",
    "list_recipes",
    "load_config",
    "register",
]
