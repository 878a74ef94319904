"""mnist-mlp on the real MNIST files in ../shared/data (small by default; the full recipe is slow)."""

from __future__ import annotations

import pytest

from spikegrad.train import Trainer, apply_overrides, build_experiment, get_recipe


def test_mnist_mlp_learns_in_one_short_epoch(shared_data, tmp_path):
    config = apply_overrides(get_recipe("mnist-mlp").defaults, {
        "data_dir": str(shared_data / "mnist"), "epochs": "1", "hidden": "[64]", "steps": "4", "max_shift": "0"})
    summary = Trainer(build_experiment(config), tmp_path).fit()
    assert summary["test_accuracy"] > 0.80  # 5 000 training images, 10 000 test images


@pytest.mark.slow
@pytest.mark.ci_slow
def test_mnist_mlp_recipe_reaches_95_percent(shared_data, tmp_path):
    config = apply_overrides(get_recipe("mnist-mlp").defaults, {"data_dir": str(shared_data / "mnist")})
    summary = Trainer(build_experiment(config), tmp_path).fit()
    assert summary["test_accuracy"] >= 0.95
