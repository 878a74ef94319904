"""The SLAYER recipes end to end on tiny real subsets, the sparse event store they train from, and (slow)
the acceptance runs of the recorded results (README): slayer-nmnist and slayer-fsdd with their defaults."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from spikegrad.data.aedat import write_aedat31
from spikegrad.data.events import EventBinning, bin_events, event_indices, jitter_events
from spikegrad.data.nmnist import read_40bit_events
from spikegrad.data.sparse import SparseSpikes, jitter
from spikegrad.data.split import evenly_spaced
from spikegrad.encoding import integrate_and_fire_encode
from spikegrad.errors import ConfigError, DataNotFoundError
from spikegrad.train import Trainer, apply_overrides, build_experiment, get_recipe

RECIPES = ("slayer-nmnist", "slayer-nmnist-mlp", "slayer-mnist", "slayer-dvsgesture", "slayer-fsdd")


def _config(recipe: str, data_dir: Path, **overrides):
    return apply_overrides(get_recipe(recipe).defaults, {"data_dir": str(data_dir), **overrides})


def _train_loss_falls(config, tmp_path) -> dict:
    """Fit ``config`` and check the training-split loss (eval mode) fell; returns the summary."""
    experiment = build_experiment(config)
    generator = torch.Generator().manual_seed(0)
    before = experiment.evaluate("train", generator)["loss"]
    summary = Trainer(experiment, tmp_path).fit()
    after = experiment.evaluate("train", generator)["loss"]
    assert math.isfinite(after) and after < before, (before, after)
    for name in ("config.yaml", "metrics.csv", "checkpoint.pt", "model.safetensors", "summary.json"):
        assert (tmp_path / name).is_file()
    return summary


# -- the registry --------------------------------------------------------------------------------

def test_recipes_registered_with_method_slayer():
    for name in RECIPES:
        recipe = get_recipe(name)
        assert recipe.methods == ("slayer",) and recipe.needs_data
    nmnist = get_recipe("slayer-nmnist").defaults.settings
    assert (nmnist.sample_ms, nmnist.ts) == (300.0, 1.0)
    assert (nmnist.true_count, nmnist.false_count) == (60.0, 10.0)
    gesture = get_recipe("slayer-dvsgesture").defaults.settings
    assert (gesture.sample_ms, gesture.true_count, gesture.false_count) == (1450.0, 180.0, 30.0)


def test_recipe_needs_a_data_dir(monkeypatch):
    monkeypatch.delenv("SPIKEGRAD_DATA", raising=False)
    config = get_recipe("slayer-nmnist").defaults
    with pytest.raises(DataNotFoundError, match="--data-dir"):
        build_experiment(config)


def test_unknown_filter_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="filter"):
        _config("slayer-fsdd", tmp_path, filter="fft")


# -- the sparse event store ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def nmnist_events(shared_data):
    folder = shared_data / "nmnist" / "NMNISTsmall"
    return [read_40bit_events(folder / f"{i}.bs2", (34, 34)) for i in (1, 2, 3, 60001)]


def test_sparse_spikes_equal_slayer_binning(nmnist_events):
    binning = EventBinning((34, 34), 300.0)
    spikes = SparseSpikes.from_indices(binning.shape, [event_indices(e, binning) for e in nmnist_events])
    dense = torch.stack([bin_events(e, binning) for e in nmnist_events], dim=1)
    assert torch.equal(spikes.dense(), dense)  # [T, B, 2, 34, 34]
    assert torch.equal(spikes[torch.tensor([3, 1])].dense(), dense[:, [3, 1]])
    assert torch.equal(spikes[1:3].dense(), dense[:, 1:3])
    assert torch.equal(SparseSpikes.concat(spikes[:1], spikes[1:]).dense(), dense)
    assert torch.equal(SparseSpikes.from_dense(list(dense.unbind(1))).dense(), dense)


def test_jitter_equals_moving_the_events(nmnist_events):
    binning = EventBinning((34, 34), 300.0)
    spikes = SparseSpikes.from_indices(binning.shape, [event_indices(e, binning) for e in nmnist_events])
    moved = jitter(spikes, 8, torch.Generator().manual_seed(3)).dense()
    shifts = torch.randint(-8, 9, (len(spikes), 2), generator=torch.Generator().manual_seed(3)).tolist()
    for b, (dx, dy) in enumerate(shifts):
        expected = bin_events(jitter_events(nmnist_events[b], dx, dy, (34, 34)), binning)
        assert torch.equal(moved[:, b], expected)
    assert jitter(spikes, 0, torch.Generator()) is spikes


def test_evenly_spaced_subsets():
    assert evenly_spaced(10, 0).tolist() == list(range(10)) and evenly_spaced(3, 5).tolist() == [0, 1, 2]
    assert evenly_spaced(100, 3).tolist() == [0, 50, 99]  # ends included, evenly spaced


def test_integrate_and_fire_encoding():
    spikes = integrate_and_fire_encode(torch.tensor([0.0, 0.25, 1.0]), steps=25, gain=0.5)
    assert spikes.shape == (25, 3)
    assert spikes.sum(0).tolist() == [0.0, 3.0, 12.0]  # floor(25 * 0.5 * p)
    assert spikes[:, 2].nonzero().flatten().tolist() == list(range(1, 25, 2))  # every 2 ms


# -- each recipe, one tiny epoch on real data -------------------------------------------------------

def test_slayer_nmnist_cnn_learns_on_a_tiny_subset(shared_data, tmp_path):
    config = _config("slayer-nmnist", shared_data / "nmnist", epochs="2", train_limit="24", test_limit="4",
                     sample_ms="50", true_count="10", false_count="2", lr="0.001")
    summary = _train_loss_falls(config, tmp_path)
    assert summary["recipe"] == "slayer-nmnist" and summary["method"] == "slayer"


def test_slayer_nmnist_mlp_learns_on_a_tiny_subset(shared_data, tmp_path):
    config = _config("slayer-nmnist-mlp", shared_data / "nmnist", epochs="2", train_limit="32", test_limit="8",
                     sample_ms="60", true_count="12", false_count="2")
    _train_loss_falls(config, tmp_path)


def test_slayer_mnist_learns_on_a_tiny_subset(shared_data, tmp_path):
    config = _config("slayer-mnist", shared_data / "mnist", epochs="1", train_limit="48", test_limit="12")
    _train_loss_falls(config, tmp_path)


def _gesture_trial(clips: Path, folder: Path, name: str, clips_in_trial: list[int], start_us: int) -> None:
    """A trial in the release's layout, made of real DVS128 clips 2 s apart, and its labels CSV."""
    pieces, rows = [], []
    for k, clip in enumerate(clips_in_trial):
        events = read_40bit_events(clips / f"{clip}.bs2", (128, 128))
        offset = start_us + 2_000_000 * k
        events["t"] += offset
        pieces.append(events)
        rows.append(f"{clip},{offset},{offset + 1_450_000}\n")  # the clips are classes 1..10 in file order
    write_aedat31(folder / f"{name}.aedat", np.concatenate(pieces))
    (folder / f"{name}_labels.csv").write_text("class,startTime_usec,endTime_usec\n" + "".join(rows))


def test_slayer_dvsgesture_runs_on_the_official_layout(shared_data, tmp_path):
    clips = shared_data / "dvs-gesture" / "slayer_bs2_1450ms"
    release = tmp_path / "DvsGesture"
    release.mkdir()
    _gesture_trial(clips, release, "user01_fluorescent", [1, 2, 3, 4], 1_000_000)
    _gesture_trial(clips, release, "user24_led", [1, 3], 0)
    (release / "trials_to_train.txt").write_text("user01_fluorescent.aedat\n")
    (release / "trials_to_test.txt").write_text("user24_led.aedat\n")
    config = _config("slayer-dvsgesture", release, epochs="2", sample_ms="50", true_count="8", false_count="1",
                     lr="0.001", dropout="0.0")
    experiment = build_experiment(config)
    spikes, labels = experiment.split("train")
    assert len(spikes) == 4 and labels.tolist() == [0, 1, 2, 3] and spikes.shape == (50, 2, 128, 128)
    assert experiment.split("test")[1].tolist() == [0, 2]
    delays = [name for name, _ in experiment.model.named_parameters() if name.endswith("delay")]
    assert len(delays) == 3  # 16c5d, 32c3d, 512d
    _train_loss_falls(config, tmp_path / "run")


def test_slayer_fsdd_learns_on_a_tiny_subset(shared_data, tmp_path):
    config = _config("slayer-fsdd", shared_data / "fsdd", epochs="1", train_limit="80", test_limit="20",
                     sample_ms="400", true_count="24", false_count="4")
    _train_loss_falls(config, tmp_path)


# -- acceptance (slow): the recorded results --------------------------------------------------------

@pytest.mark.slow
def test_slayer_nmnist_recipe_reaches_85_percent(shared_data, tmp_path):
    """README: final 0.88 after 12 epochs (0.86-0.92 over the last four; 100 test samples, 1 % steps)."""
    summary = Trainer(build_experiment(_config("slayer-nmnist", shared_data / "nmnist")), tmp_path).fit()
    assert summary["test_accuracy"] >= 0.85  # NMNISTsmall: 1 000 train / 100 test samples


@pytest.mark.slow
@pytest.mark.ci_slow
def test_slayer_fsdd_recipe_reaches_90_percent(shared_data, tmp_path):
    """README: final 0.928 after 15 epochs on FSDD's test split."""
    summary = Trainer(build_experiment(_config("slayer-fsdd", shared_data / "fsdd")), tmp_path).fit()
    assert summary["test_accuracy"] >= 0.90  # FSDD test split: index 0-4 of every digit and speaker
