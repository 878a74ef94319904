"""Encoding on the run's device: the generator follows the device, image batches are encoded there, sparse
samples on the host, and a CPU run draws from the trainer's generator itself (its numbers unchanged)."""

from __future__ import annotations

import types

import pytest
import torch

from spikegrad.data.sparse import SparseSpikes
from spikegrad.train import apply_overrides, build_experiment, classification, get_recipe
from spikegrad.train.device_generator import device_generator


def _fake_generator(device: str, seed: int):
    return types.SimpleNamespace(device=torch.device(device), initial_seed=lambda: seed)


def test_a_cpu_run_keeps_the_trainers_generator():
    generator = torch.Generator().manual_seed(11)
    assert device_generator(generator, torch.device("cpu")) is generator


@pytest.mark.parametrize(("source", "device"), [("cpu", "cuda"), ("cpu", "cuda:1"), ("cuda:0", "cuda:1")])
def test_another_device_gets_its_own_generator_with_the_same_seed(monkeypatch, source, device):
    made, cpu_generator = [], torch.Generator

    def generator(device):
        made.append(torch.device(device))
        return cpu_generator()

    monkeypatch.setattr(torch, "Generator", generator)
    drawn = device_generator(_fake_generator(source, 123_456), torch.device(device))
    assert made == [torch.device(device)] and drawn.initial_seed() == 123_456


def test_a_generator_already_on_the_device_is_kept():
    generator = _fake_generator("cuda:1", 5)
    assert device_generator(generator, torch.device("cuda:1")) is generator
    assert device_generator(generator, torch.device("cuda")) is generator  # the current device's index


def _experiment():
    config = apply_overrides(get_recipe("digits").defaults, {"hidden": "[8]", "steps": "3", "batch_size": "16",
                                                             "train_limit": "32", "test_limit": "16"})
    experiment = build_experiment(config)
    calls = []

    def record(step):
        def call(inputs, generator):
            calls.append((step, type(inputs).__name__, generator))
            return inputs
        return call

    encode = experiment.parts.encode
    experiment.parts.augment = record("augment")
    experiment.parts.encode = lambda inputs, generator: (record("encode")(inputs, generator), encode(inputs, generator))[1]
    return experiment, calls


def test_image_batches_draw_on_the_device_generator_and_sparse_ones_on_the_hosts():
    experiment, calls = _experiment()
    host, on_device = torch.Generator(), torch.Generator()
    x = experiment.encode_batch(torch.rand(4, 64), host, on_device, augment=True)
    assert x.shape == (3, 4, 64) and calls == [("augment", "Tensor", on_device), ("encode", "Tensor", on_device)]
    calls.clear()
    sparse = SparseSpikes((2, 3), torch.tensor([0, 4, 1]), torch.tensor([0, 2, 3]))
    experiment.parts.encode = lambda spikes, generator: (calls.append(("encode", generator)), spikes.dense())[1]
    assert experiment.encode_batch(sparse, host, on_device).shape == (2, 2, 3)
    assert calls == [("encode", host)]  # not augmented: evaluation


def test_a_training_epoch_encodes_with_the_device_generator_and_shuffles_on_the_host(monkeypatch):
    experiment, calls = _experiment()
    trainer_generator, device_side = torch.Generator().manual_seed(9), torch.Generator().manual_seed(10)
    seen = []
    monkeypatch.setattr(classification, "device_generator", lambda g, d: (seen.append((g, d)), device_side)[1])
    experiment.train_epoch(trainer_generator, lambda *a: None, lambda loss: (loss.backward(), loss.item())[1])
    assert seen == [(trainer_generator, torch.device("cpu"))]
    assert {g for _, _, g in calls} == {device_side} and len(calls) == 4  # 2 batches x (augment, encode)
    experiment.evaluate("test", trainer_generator)
    assert calls[-1][2] is device_side
