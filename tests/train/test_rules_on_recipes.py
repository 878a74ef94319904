"""Every (recipe, rule) pair of README's table trains: one small epoch each, weights change, the loss is finite.

Image and event recipes read small evenly spaced subsets of ../shared/data (or CIFAR/SVHN files written
here in the official formats); the spike-train problems are shortened.
"""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
import scipy.io
import torch

from spikegrad.errors import ConfigError
from spikegrad.train import Trainer, build_experiment, get_recipe, list_recipes

IMAGES = {"train_limit": 8, "test_limit": 4, "batch_size": 4}
SMALL = {
    "digits": {**IMAGES, "steps": 4},
    "mnist-mlp": {**IMAGES, "steps": 4, "hidden": "[32]"},
    "lee-mnist": {**IMAGES, "steps": 3},
    "lee-cifar10-vgg9": {**IMAGES, "steps": 2},
    "lee-cifar10-resnet11": {**IMAGES, "steps": 2},
    "lee-svhn": {**IMAGES, "steps": 2},
    "na-mnist": {**IMAGES, "steps": 3},
    "na-fmnist": {**IMAGES, "steps": 3},
    "na-cifar10": {**IMAGES, "steps": 2},
    "na-nmnist": {**IMAGES, "steps": 5},
    "na-fit": {"trials": 6, "inputs": 20, "iterations": 2, "steps": 10},
    "normad-single": {"duration_ms": 30.0, "target_spikes": 1},
    "normad-xor": {},
    "normad-3layer": {"duration_ms": 100.0, "hidden": "[40, 40]", "target_spikes": 2},
    "slayer-nmnist": {**IMAGES, "sample_ms": 20.0, "true_count": 4.0, "false_count": 1.0},
    "slayer-nmnist-mlp": {**IMAGES, "sample_ms": 20.0, "true_count": 4.0, "false_count": 1.0},
    "slayer-mnist": {**IMAGES, "sample_ms": 10.0, "true_count": 4.0, "false_count": 1.0},
    "slayer-dvsgesture": {**IMAGES, "sample_ms": 20.0, "true_count": 4.0, "false_count": 1.0},
    "slayer-fsdd": {**IMAGES, "sample_ms": 100.0, "true_count": 4.0, "false_count": 1.0},
}
FOLDERS = {"mnist-mlp": "mnist", "lee-mnist": "mnist", "na-mnist": "mnist", "na-fmnist": "fashion-mnist",
           "na-cifar10": "cifar10", "na-nmnist": "nmnist", "slayer-nmnist": "nmnist", "slayer-nmnist-mlp": "nmnist",
           "slayer-mnist": "mnist", "slayer-fsdd": "fsdd"}
PAIRS = [(recipe.name, method) for recipe in list_recipes() for method in recipe.methods
         if recipe.name != "slayer-dvsgesture"]  # its release layout is written by tests/rules/slayer


def _cifar_batches(folder):
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        images = rng.integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
        batch = {b"labels": rng.integers(0, 10, 4).tolist(), b"data": images.transpose(0, 3, 1, 2).reshape(4, 3072)}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))


def _svhn(folder):
    rng = np.random.default_rng(1)
    for split, n in (("train", 8), ("test", 4)):
        scipy.io.savemat(folder / f"{split}_32x32.mat", {"X": rng.integers(0, 256, (32, 32, 3, n), dtype=np.uint8),
                                                        "y": rng.integers(1, 11, (n, 1)).astype(np.uint8)})


def _data_dir(recipe, request, tmp_path):
    if recipe in ("lee-cifar10-vgg9", "lee-cifar10-resnet11"):
        _cifar_batches(tmp_path / "cifar" / "cifar-10-batches-py")
        return tmp_path / "cifar"
    if recipe == "lee-svhn":
        _svhn(tmp_path)
        return tmp_path
    if recipe in FOLDERS:
        return request.getfixturevalue("shared_data") / FOLDERS[recipe]
    return None


@pytest.mark.parametrize("recipe, method", PAIRS, ids=[f"{r}-{m}" for r, m in PAIRS])
def test_every_rule_trains_every_network_it_applies_to(recipe, method, request, tmp_path):
    folder = _data_dir(recipe, request, tmp_path)
    overrides = {"method": method, "epochs": 1, **SMALL[recipe], **({"data_dir": folder} if folder else {})}
    config = get_recipe(recipe).configure({k: str(v) for k, v in overrides.items()})
    experiment = build_experiment(config)
    before = [p.detach().clone() for p in experiment.model.parameters() if p.requires_grad]
    summary = Trainer(experiment, tmp_path / "run").fit()
    after = [p.detach() for p in experiment.model.parameters() if p.requires_grad]
    assert summary["method"] == method and math.isfinite(summary["final_train_loss"])
    assert any(not torch.equal(a, b) for a, b in zip(before, after)), "no weight changed"


def test_a_rule_that_cannot_apply_is_refused_naming_the_rules_that_can():
    with pytest.raises(ConfigError, match="'method': recipe 'slayer-fsdd' trains with slayer; got 'na'"):
        get_recipe("slayer-fsdd").configure({"method": "na"})
    with pytest.raises(ConfigError, match="trains with normad, bptt, slayer, na; got 'lee'"):
        get_recipe("normad-xor").configure({"method": "lee"})


def test_rule_options_of_another_rule_are_refused():
    with pytest.raises(ConfigError, match="'na_mode': is an option of method 'na'; this run trains with 'bptt'"):
        build_experiment(get_recipe("digits").configure({"na_mode": "paper"}))
