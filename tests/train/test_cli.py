"""The `spikegrad` command line: recipes, train, eval, resume and error exits."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from spikegrad.cli import app

runner = CliRunner()
TINY = ["--set", "hidden=[24]", "--set", "steps=6", "--batch-size", "64"]


def test_recipes_lists_every_recipe():
    result = runner.invoke(app, ["recipes"])
    assert result.exit_code == 0
    assert "digits" in result.output and "mnist-mlp" in result.output


def test_train_then_eval_then_resume(tmp_path):
    run_dir = tmp_path / "run"
    result = runner.invoke(app, ["train", "--epochs", "2", "--seed", "3", "--out", str(run_dir), *TINY])
    assert result.exit_code == 0, result.output
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["epochs"] == 2 and summary["seed"] == 3

    result = runner.invoke(app, ["eval", str(run_dir), "--split", "test"])
    assert result.exit_code == 0, result.output
    evaluated = json.loads((run_dir / "eval-test.json").read_text())
    assert evaluated["accuracy"] == summary["test_accuracy"]  # same weights, same evaluation stream
    assert evaluated["samples"] == 360

    result = runner.invoke(app, ["eval", str(run_dir), "--split", "all"])
    assert json.loads((run_dir / "eval-all.json").read_text())["samples"] == 1797

    result = runner.invoke(app, ["train", "--resume", str(run_dir)])  # already finished: nothing left to do
    assert result.exit_code == 0, result.output
    assert json.loads((run_dir / "summary.json").read_text())["test_accuracy"] == summary["test_accuracy"]


def test_errors_exit_with_a_message(tmp_path):
    result = runner.invoke(app, ["train", "--set", "bogus=1", "--out", str(tmp_path / "x")])
    assert result.exit_code == 1
    assert "bogus" in result.output and "valid options are" in result.output
    result = runner.invoke(app, ["train", "no-such-recipe"])
    assert result.exit_code == 1 and "unknown recipe" in result.output
    result = runner.invoke(app, ["eval", str(tmp_path / "missing")])
    assert result.exit_code == 1 and "config.yaml" in result.output
    result = runner.invoke(app, ["eval", str(tmp_path), "--split", "validation"])
    assert result.exit_code == 1
