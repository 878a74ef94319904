"""Typed recipe settings: conversion by field type, refusals naming the key with the valid keys and types."""

from __future__ import annotations

import dataclasses
import re
from typing import Literal

import pytest
from typer.testing import CliRunner

from spikegrad.cli import app
from spikegrad.errors import ConfigError
from spikegrad.functional.neuron import Reset
from spikegrad.train import RunConfig, get_recipe, list_recipes, read_config
from spikegrad.train.config import apply_overrides, save_config
from spikegrad.train.settings import Settings, require, setting


@dataclasses.dataclass(frozen=True)
class Example(Settings):
    steps: int = setting(5, "time steps")
    rate: float = setting(0.5, "a rate")
    flag: bool = setting(False, "a switch")
    sizes: tuple[int, ...] = setting((3, 4), "layer sizes")
    reset: Reset = setting(Reset.SUBTRACT, "reset mode")
    mode: Literal["a", "b"] = setting("a", "a choice")
    tau: float | None = setting(None, "optional time constant")

    def check(self) -> None:
        require(self.steps >= 1, "steps", f"must be >= 1, got {self.steps}")


def test_strings_are_converted_by_field_type():
    s = Example().with_overrides({"steps": "7", "rate": "1e-3", "flag": "yes", "sizes": "[8, 9, 10]",
                                  "reset": "zero", "mode": "b", "tau": "2.5"})
    assert (s.steps, s.rate, s.flag, s.sizes, s.reset, s.mode, s.tau) == (7, 1e-3, True, (8, 9, 10), Reset.ZERO, "b", 2.5)
    assert Example().with_overrides({"tau": "none", "sizes": "6"}).tau is None
    assert Example().with_overrides({"sizes": "6"}).sizes == (6,)


@pytest.mark.parametrize("key, value", [("steps", "abc"), ("steps", "2.5"), ("rate", "fast"), ("flag", "maybe"),
                                        ("sizes", "[1, x]"), ("reset", "sideways"), ("mode", "c"), ("rate", "nan")])
def test_a_wrong_type_names_the_key_and_lists_the_valid_ones(key, value):
    with pytest.raises(ConfigError, match=rf"option '{key}': expected .* got '{re.escape(value)}'") as err:
        Example().with_overrides({key: value})
    assert "steps (int, default 5)" in str(err.value) and "reset (subtract|zero|none, default 'subtract')" in str(err.value)


def test_unknown_keys_and_range_checks_are_refused():
    with pytest.raises(ConfigError, match="'nope': unknown setting of Example; valid settings: steps"):
        Example().with_overrides({"nope": "1"})
    with pytest.raises(ConfigError, match="'steps': must be >= 1"):
        Example().with_overrides({"steps": "0"})


def test_round_trip_through_config_yaml(tmp_path):
    config = apply_overrides(get_recipe("digits").defaults, {"hidden": "[16, 8]", "reset": "zero", "seed": "3"})
    save_config(config, tmp_path / "config.yaml")
    assert read_config(tmp_path / "config.yaml") == config
    (tmp_path / "config.yaml").write_text((tmp_path / "config.yaml").read_text().replace("seed: 3", "seed: abc"))
    with pytest.raises(ConfigError, match="'seed': expected int"):
        read_config(tmp_path / "config.yaml")


def test_every_recipe_has_typed_settings_with_docs():
    for recipe in list_recipes():
        settings = recipe.defaults.settings
        assert isinstance(settings, Settings) and isinstance(recipe.defaults, RunConfig)
        assert all(info.doc for info in settings.fields_info()), recipe.name
        assert type(settings).from_dict(settings.to_dict()) == settings


def test_one_name_per_idea_across_recipes():
    names = {info.name for recipe in list_recipes() for info in recipe.defaults.settings.fields_info()}
    for retired in ("train_subset", "test_subset", "desired_count", "undesired_count", "theta", "max_jitter",
                    "crop_padding", "flip"):
        assert retired not in names


runner = CliRunner()


@pytest.mark.parametrize("args, key, listed", [(["--set", "no_such_key=1"], "no_such_key", True),
                                               (["--set", "hidden=abc"], "hidden", True),
                                               (["--set", "steps=2.5"], "steps", True),
                                               (["--set", "hidden=-4"], "hidden", False)])
def test_cli_refuses_bad_settings_in_one_line(tmp_path, args, key, listed):
    """Unknown keys and wrong types list every valid key with its type and default; range errors say the range."""
    result = runner.invoke(app, ["train", "digits", *args, "--out", str(tmp_path / "run")])
    assert result.exit_code == 1 and "Traceback" not in result.output
    line = " ".join(result.output.split())  # rich wraps long lines
    assert line.startswith(f"error: option '{key}'") and ("steps (int, default 25)" in line) == listed
    assert not (tmp_path / "run").exists()


def test_recipes_command_lists_a_recipes_settings():
    result = runner.invoke(app, ["recipes", "na-mnist"])
    assert result.exit_code == 0
    for name in ("tau_m", "na_mode", "max_shift", "train_limit", "weight_clamp", "eval_batch_size"):
        assert name in result.output
