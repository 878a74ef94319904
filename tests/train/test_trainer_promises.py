"""What the trainer promises beyond one uninterrupted run: the schedule survives a resume in mid-run,
infinite gradients stop training, ``grad_clip`` bounds every step, and each epoch draws its own randomness."""

from __future__ import annotations

import math

import pytest
import torch
from safetensors.torch import load_file

from spikegrad.errors import TrainingDivergedError
from spikegrad.train import ClassificationExperiment, Trainer, apply_overrides, build_experiment, get_recipe
from spikegrad.train.checkpoint import load_checkpoint
from spikegrad.train.trainer import epoch_seed

SMALL = {"hidden": "[8]", "steps": "4", "train_limit": "60", "test_limit": "20", "batch_size": "20"}


def _config(**extra: str):
    return apply_overrides(get_recipe("digits").defaults, {**SMALL, **extra})


def test_a_resume_in_mid_run_keeps_the_schedule_that_changes_after_it(tmp_path, monkeypatch):
    # lr drops tenfold after epoch 2; the run is cut in epoch 2, so the drop happens after the resume
    extra = {"epochs": "4", "schedule": "step", "lr_milestones": "[2]", "lr_gamma": "0.1", "lr": "0.01"}
    whole = Trainer(build_experiment(_config(**extra)), tmp_path / "whole")
    whole.fit()
    assert [row["lr"] for row in whole.history] == pytest.approx([0.01, 0.01, 0.001, 0.001])

    real_epoch, calls = ClassificationExperiment.train_epoch, {"n": 0}

    def cut_in_epoch_2(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real_epoch(self, *args, **kwargs)

    monkeypatch.setattr(ClassificationExperiment, "train_epoch", cut_in_epoch_2)
    with pytest.raises(KeyboardInterrupt):
        Trainer(build_experiment(_config(**extra)), tmp_path / "cut").fit()
    monkeypatch.setattr(ClassificationExperiment, "train_epoch", real_epoch)
    assert load_checkpoint(tmp_path / "cut")["epochs_done"] == 1

    resumed = Trainer(build_experiment(_config(**extra)), tmp_path / "cut")
    resumed.fit(resume=True)
    assert [row["lr"] for row in resumed.history] == [row["lr"] for row in whole.history]
    for name, value in load_file(tmp_path / "whole" / "model.safetensors").items():
        assert torch.equal(value, load_file(tmp_path / "cut" / "model.safetensors")[name]), name


def test_an_infinite_gradient_stops_training(tmp_path):
    experiment = build_experiment(_config(epochs="1"))
    real_backward, calls = experiment.backward, {"n": 0}

    def poisoned(loss):
        real_backward(loss)
        calls["n"] += 1
        if calls["n"] == 2:
            next(experiment.model.parameters()).grad[0, 0] = math.inf

    experiment.backward = poisoned
    with pytest.raises(TrainingDivergedError, match=r"epoch 1, batch 2: the gradient norm became inf"):
        Trainer(experiment, tmp_path).fit()


@pytest.mark.filterwarnings("ignore:Seems like `optimizer.step\\(\\)` has been overridden")
@pytest.mark.parametrize("clip", [0.0, 0.05])
def test_grad_clip_bounds_the_norm_of_every_step(tmp_path, clip):
    experiment = build_experiment(_config(epochs="1", grad_clip=str(clip)))
    trainer = Trainer(experiment, tmp_path)
    norms = []
    real_step = trainer.optimizer.step

    def recording_step(*args, **kwargs):
        grads = [p.grad for p in experiment.model.parameters() if p.grad is not None]
        norms.append(float(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))))
        return real_step(*args, **kwargs)

    trainer.optimizer.step = recording_step
    trainer.fit()
    assert len(norms) == 3  # 60 samples in batches of 20
    if clip:
        assert max(norms) <= clip * (1 + 1e-5)
    else:  # unclipped, the same network's gradients are far larger: the bound above is the clipping's doing
        assert min(norms) > 10 * 0.05


def test_every_epoch_draws_its_own_randomness():
    # hand values of (seed * 100003 + epoch) mod (2^63 - 1)
    assert [epoch_seed(3, epoch) for epoch in range(3)] == [300009, 300010, 300011]
    assert epoch_seed(2**62, 1) == (2**62 * 100_003 + 1) % (2**63 - 1)


def test_tensorboard_logs_every_epoch_row(tmp_path):
    pytest.importorskip("tensorboard", reason="the tensorboard extra is not installed (pip install 'spikegrad[tensorboard]')")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    trainer = Trainer(build_experiment(_config(epochs="2")), tmp_path, tensorboard=True)
    trainer.fit()
    events = EventAccumulator(str(tmp_path / "tensorboard"))
    events.Reload()
    assert {"train_loss", "test_accuracy", "lr"} <= set(events.Tags()["scalars"])
    logged = [(event.step, event.value) for event in events.Scalars("test_accuracy")]
    assert logged == [(row["epoch"], pytest.approx(row["test_accuracy"])) for row in trainer.history]
