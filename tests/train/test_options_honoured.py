"""Every run option is honoured or refused (issue 19): an option a recipe cannot use is a ConfigError naming
the option and the recipe, ``--device cuda`` without CUDA is an error for every recipe, and the options
of the cheap recipes change what trains."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

from spikegrad.cli import app
from spikegrad.errors import ConfigError
from spikegrad.train.checkpoint import WEIGHTS
from spikegrad.train.config import RUN_OPTIONS
from spikegrad.train.recipe import get_recipe, list_recipes
from spikegrad.train.runs import fit_recipe

RECIPES = [recipe.name for recipe in list_recipes()]
A_VALUE = {"batch_size": "7", "eval_batch_size": "7", "data_dir": "/tmp", "amp": "bf16"}


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA: the refusal is for CPU-only torch")
@pytest.mark.parametrize("recipe", RECIPES)
def test_device_cuda_without_cuda_is_an_error_for_every_recipe(recipe, tmp_path):
    result = CliRunner().invoke(app, ["train", recipe, "--device", "cuda", "--epochs", "1", "--out", str(tmp_path / "r")])
    assert result.exit_code == 1, result.output
    assert "option 'device'" in result.output and "no usable CUDA device" in result.output
    assert not (tmp_path / "r").exists()  # refused before anything was written


@pytest.mark.parametrize("recipe", RECIPES)
def test_options_a_recipe_cannot_use_are_refused_with_the_reason(recipe):
    unused = get_recipe(recipe).unused
    assert set(unused) <= set(RUN_OPTIONS)
    for option in unused:
        with pytest.raises(ConfigError, match=rf"option '{option}': recipe '{recipe}' does not use it: .+"):
            get_recipe(recipe).configure({option: A_VALUE[option]})


def test_schedule_options_of_another_schedule_are_refused():
    with pytest.raises(ConfigError, match="lr_gamma.*schedule is 'cosine'"):
        get_recipe("digits").configure({"lr_gamma": "0.5"})
    with pytest.raises(ConfigError, match="lr_milestones.*schedule is 'exponential'"):
        get_recipe("digits").configure({"schedule": "exponential", "lr_milestones": "[2]"})
    config = get_recipe("digits").configure({"schedule": "step", "lr_milestones": "[2]", "lr_gamma": "0.5"})
    assert (config.lr_milestones, config.lr_gamma) == ((2,), 0.5)
    with pytest.raises(ConfigError, match="momentum"):
        get_recipe("digits").configure({"momentum": "0.5"})  # digits trains with Adam


# the cheap recipes: every option that is not refused changes the trained result
HONOURED = {
    "normad-single": ({"epochs": "4"},
                      {"lr": "5", "optimizer": "adam", "momentum": "0.5", "weight_decay": "0.1",
                       "schedule": "cosine", "grad_clip": "0.001", "seed": "1", "epochs": "3"}),
    "digits": ({"epochs": "2", "hidden": "[8]", "steps": "4", "train_limit": "80", "test_limit": "40"},
               {"lr": "0.01", "optimizer": "sgd", "weight_decay": "0.1", "schedule": "constant", "grad_clip": "0.01",
                "seed": "1", "epochs": "1", "batch_size": "16", "eval_batch_size": "7", "amp": "bf16"}),
}


@pytest.mark.parametrize("recipe", sorted(HONOURED))
def test_every_accepted_option_of_a_cheap_recipe_changes_the_run(recipe, tmp_path):
    base, options = HONOURED[recipe]
    reference, _ = fit_recipe(recipe, base, tmp_path / "reference")
    assert reference["device"] == "cpu"
    trained = load_file(tmp_path / "reference" / WEIGHTS)
    for option, value in options.items():
        summary, _ = fit_recipe(recipe, {**base, option: value}, tmp_path / option)
        weights = load_file(tmp_path / option / WEIGHTS)
        if option == "eval_batch_size":  # evaluation only: training untouched (the encodings drawn per batch differ)
            assert all(torch.equal(weights[k], trained[k]) for k in trained)
            continue
        assert any(not torch.equal(weights[k], trained[k]) for k in trained), f"{option}={value} changed nothing"
