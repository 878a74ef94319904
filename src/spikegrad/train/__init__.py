"""Training: run configuration and typed recipe settings, recipes, the experiments, the trainer loop."""

from spikegrad.train.classification import ClassificationExperiment, ClassificationParts
from spikegrad.train.config import RunConfig, apply_overrides, read_config
from spikegrad.train.experiment import Experiment
from spikegrad.train.recipe import Recipe, build_experiment, get_recipe, list_recipes, register
from spikegrad.train.settings import Settings, setting
from spikegrad.train.spike_train import SpikeTrainExperiment, SpikeTrainParts
from spikegrad.train.trainer import Trainer

__all__ = [
    "ClassificationExperiment",
    "ClassificationParts",
    "Experiment",
    "Recipe",
    "RunConfig",
    "Settings",
    "SpikeTrainExperiment",
    "SpikeTrainParts",
    "Trainer",
    "apply_overrides",
    "build_experiment",
    "get_recipe",
    "list_recipes",
    "read_config",
    "register",
    "setting",
]
