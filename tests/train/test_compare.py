"""``spikegrad compare``: several rules on one recipe's network, data and seeds, with its tables and figure."""

from __future__ import annotations

import csv
import math

import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

from spikegrad.cli import app
from spikegrad.errors import ConfigError
from spikegrad.train import build_experiment, get_recipe
from spikegrad.train.checkpoint import WEIGHTS
from spikegrad.train.compare import aggregate, compare

DIGITS = ["--epochs", "1", "--set", "steps=10", "--set", "train_limit=60", "--set", "test_limit=20",
          "--set", "batch_size=20"]


def _weights(recipe: str, method: str, seed: int) -> dict[str, torch.Tensor]:
    config = get_recipe(recipe).configure({"method": method, "seed": str(seed)})
    return {k: v.clone() for k, v in build_experiment(config).model.state_dict().items()}


def test_every_rule_starts_from_the_same_weights_for_one_seed_and_other_weights_for_another():
    reference = _weights("digits", "bptt", 0)
    for method in ("slayer", "lee", "na"):
        other = _weights("digits", method, 0)
        assert other.keys() == reference.keys()
        assert all(torch.equal(other[k], reference[k]) for k in reference), method
    reseeded = _weights("digits", "bptt", 1)
    assert any(not torch.equal(reseeded[k], reference[k]) for k in reference)


# the acceptance commands of the comparison, at one epoch, one seed and tiny data
ACCEPTANCE = {
    "digits": (["bptt", "slayer", "lee", "na"], DIGITS),
    "normad-xor": (["normad", "na", "bptt", "slayer"], ["--epochs", "1"]),
}


@pytest.mark.parametrize("recipe", sorted(ACCEPTANCE))
def test_every_rule_of_a_comparison_trains_from_the_same_initial_weights(recipe, tmp_path):
    methods, options = ACCEPTANCE[recipe]
    initial = {method: _weights(recipe, method, 0) for method in methods}
    first = initial[methods[0]]
    for method in methods[1:]:
        assert initial[method].keys() == first.keys(), method
        assert all(torch.equal(initial[method][k], first[k]) for k in first), f"{method} starts elsewhere"
    results = compare(recipe, methods, 1, tmp_path, options)
    assert [r.method for r in results] == methods
    for result in results:
        trained = load_file(result.run_dir / WEIGHTS)
        assert trained.keys() == first.keys()
        assert any(not torch.equal(trained[k], first[k]) for k in first), f"{result.method} did not train"
        assert all(torch.isfinite(w).all() for w in trained.values()), result.method
        assert result.summary["method"] == result.method
        assert len(result.history) == 1 and math.isfinite(float(result.history[0]["train_loss"])), result.method
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_compare_trains_each_rule_and_writes_its_tables_and_figure(tmp_path):
    announced = []
    results = compare("digits", ["bptt", "slayer"], 1, tmp_path, DIGITS,
                      on_run=lambda method, seed, index, total: announced.append((method, seed, index, total)))
    assert announced == [("bptt", 0, 0, 2), ("slayer", 0, 1, 2)]
    assert [(r.method, r.seed) for r in results] == [("bptt", 0), ("slayer", 0)]
    assert [r.summary["method"] for r in results] == ["bptt", "slayer"]
    assert all(len(r.history) == 1 and r.activity["synops_per_sample"] > 0 for r in results)
    # different rules on the same start give different trained networks
    assert results[0].summary["final_train_loss"] != results[1].summary["final_train_loss"]

    with open(tmp_path / "compare.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(row["method"], row["seed"]) for row in rows] == [("bptt", "0"), ("slayer", "0")]
    assert [float(row["test_accuracy"]) for row in rows] == [r.summary["test_accuracy"] for r in results]
    table = (tmp_path / "compare.md").read_text().splitlines()
    assert table[0].startswith("| rule | seeds | final test_accuracy | best test_accuracy |")
    assert [line.split(" | ")[0] for line in table[2:]] == ["| bptt", "| slayer"]
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # a finished comparison is read back, not trained again
    before = {r.method: (r.run_dir / "summary.json").stat().st_mtime_ns for r in results}
    again = compare("digits", ["bptt", "slayer"], 1, tmp_path, DIGITS)
    assert {r.method: (r.run_dir / "summary.json").stat().st_mtime_ns for r in again} == before


def test_aggregate_reports_mean_and_spread_over_seeds(tmp_path):
    results = compare("normad-single", ["normad"], 2, tmp_path,
                      ["--epochs", "2", "--set", "duration_ms=30", "--set", "target_spikes=1"])
    row = aggregate(results)[0]
    assert row["rule"] == "normad" and row["seeds"] == "2"
    finals = [r.summary["train_correlation"] for r in results]
    mean = sum(finals) / 2
    assert row["final train_correlation"].startswith(f"{mean:.4g} +- ")
    assert "solved" in row


def test_a_rule_the_recipe_cannot_train_or_no_seed_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="recipe 'slayer-fsdd' trains with slayer; not bptt"):
        compare("slayer-fsdd", ["bptt"], 1, tmp_path)
    with pytest.raises(ConfigError, match="--seeds"):
        compare("digits", ["bptt"], 0, tmp_path)
    with pytest.raises(ConfigError, match="--methods"):
        compare("digits", [], 1, tmp_path)


def test_a_failing_run_is_one_line_naming_the_rule_and_seed(tmp_path):
    result = CliRunner().invoke(app, ["compare", "digits", "--methods", "bptt", "--out", str(tmp_path),
                                      "--set", "no_such_key=1"])
    assert result.exit_code != 0
    assert "bptt, seed 0:" in result.output and "no_such_key" in result.output
    assert "Traceback" not in result.output
