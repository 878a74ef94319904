"""Lee's rule learns: a LIF MLP on the bundled 8x8 digits (fast), and LeNet on a real MNIST subset (slow)."""

from __future__ import annotations

import pytest
import torch

from spikegrad.data.registry import load_split
from spikegrad.nn import Dense
from spikegrad.rules.lee.encoding import lee_mnist_encode
from spikegrad.rules.lee.layers import IntegratingReadout, LeeLIF, LeeNetwork
from spikegrad.rules.lee.loss import lee_mse_loss, lee_prediction
from spikegrad.rules.lee.nets import init_lee_weights
from spikegrad.train import Trainer, apply_overrides, build_experiment, get_recipe


def _digits(split):
    data = load_split("digits", split)
    return torch.from_numpy(data.images).float().div(255.0).flatten(1), torch.from_numpy(data.labels)


@pytest.mark.parametrize("path", ["code", "rate"])
def test_lee_mlp_learns_digits_in_one_epoch(path):
    """64-100-10 with Lee's LIF, output integrator, summed MSE and plain SGD: one epoch, T = 20."""
    torch.manual_seed(0)
    (x_train, y_train), (x_test, y_test) = _digits("train"), _digits("test")
    net = init_lee_weights(LeeNetwork(Dense(64, 100, bias=False), LeeLIF(gradient=path), Dense(100, 10, bias=False),
                                      IntegratingReadout()))
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01, weight_decay=5e-4)
    generator = torch.Generator().manual_seed(0)
    order = torch.randperm(len(y_train), generator=generator)
    for start in range(0, len(y_train), 32):
        batch = order[start:start + 32]
        out, _ = net(lee_mnist_encode(x_train[batch], 20, generator))
        optimizer.zero_grad()
        lee_mse_loss(out, y_train[batch]).backward()
        optimizer.step()
    net.eval()
    with torch.no_grad():
        accuracy = (lee_prediction(net(lee_mnist_encode(x_test, 20, generator))[0]) == y_test).float().mean()
    assert accuracy > 0.7  # 10 classes; about 0.8 after this one epoch


@pytest.mark.slow
def test_lee_mnist_lenet_learns_on_a_small_subset(shared_data, tmp_path):
    """LeNet, 1 000 training images, T = 10, two epochs at a lower learning rate: above chance by far.

    Measured on main at 34b6691 (2026-12-04): train loss 56.4 -> 48.2, test accuracy 0.353 -> 0.500 (150 of
    300). A change of float rounding anywhere moves the second figure by a few images, so the bound is 4x
    chance and the loss must fall."""
    trainer = Trainer(build_experiment(apply_overrides(get_recipe("lee-mnist").defaults, {
        "data_dir": str(shared_data / "mnist"), "epochs": "2", "steps": "10", "train_limit": "1000",
        "test_limit": "300", "lr": "0.002"})), tmp_path)
    summary = trainer.fit()
    assert summary["test_accuracy"] > 0.4
    assert trainer.history[1]["train_loss"] < trainer.history[0]["train_loss"]
