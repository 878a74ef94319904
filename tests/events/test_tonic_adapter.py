"""Tonic interop: (W, H, P) sensor sizes, ToFrame frames to time-first spikes, and training on N-MNIST through Tonic.

The Tonic tests skip with their reason when the ``tonic`` extra is absent; the conversions themselves do not
need it. One training test uses the real N-MNIST sample files (skipped without the shared data folder); the
other writes its own N-MNIST files in the official 40-bit layout, so it runs anywhere Tonic is installed.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from spikegrad.data.events import EventBinning, bin_events, make_events
from spikegrad.data.nmnist import (
    NMNIST_SENSOR,
    nmnist,
    nmnist_small,
    read_40bit_events,
    write_40bit_events,
)
from spikegrad.data.tonic_adapter import (
    collate_frames,
    frames_to_spikes,
    pad_time,
    sparse_split,
    tonic_sensor_size,
)
from spikegrad.errors import ConfigError, ShapeError
from spikegrad.functional.neuron import Reset
from spikegrad.losses import rate_cross_entropy
from spikegrad.nn import LIF, Conv2d, Dense, Flatten, SNNSequential
from spikegrad.train import Trainer
from spikegrad.train.classification import ClassificationExperiment, ClassificationParts, dense_spikes
from spikegrad.train.config import RunConfig
from spikegrad.train.settings import Settings


def _tonic():
    return pytest.importorskip("tonic", reason="the tonic extra is not installed (pip install 'spikegrad[tonic]')")


def _events(rows):
    x, y, t, p = np.array(rows, dtype=np.int64).T
    return make_events(x, y, t, p)


def test_event_binning_takes_tonic_sensor_sizes():
    events = _events([(1, 2, 1400, 1), (3, 0, 2600, 0)])
    tonic_style = EventBinning((4, 3, 2), sample_ms=5.0)
    assert tonic_style.sensor_size == (4, 3) and tonic_style.polarities == 2 and tonic_style.shape == (5, 2, 3, 4)
    assert torch.equal(bin_events(events, tonic_style), bin_events(events, EventBinning((4, 3), sample_ms=5.0)))
    assert EventBinning((4, 3, 1), sample_ms=5.0).shape == (5, 1, 3, 4)
    assert EventBinning(NMNIST_SENSOR + (2,), 300.0, polarities=2).shape == (300, 2, 34, 34)
    with pytest.raises(ConfigError, match="sensor_size"):
        EventBinning((4, 3, 1), sample_ms=5.0, polarities=3)
    with pytest.raises(ConfigError, match="sensor_size"):
        EventBinning((4, 3, 2, 1), sample_ms=5.0)


def test_sensor_sizes_and_frames_without_tonic():
    assert tonic_sensor_size((34, 34)) == (34, 34, 2) and tonic_sensor_size((128, 128, 2)) == (128, 128, 2)
    with pytest.raises(ConfigError):
        tonic_sensor_size((34,))
    frames = np.zeros((3, 2, 4, 5), dtype=np.int16)
    frames[1, 0, 2, 3] = 4
    spikes = frames_to_spikes(frames)
    assert spikes.dtype == torch.float32 and spikes.sum() == 1 and spikes[1, 0, 2, 3] == 1
    assert frames_to_spikes(frames, binary=False)[1, 0, 2, 3] == 4
    with pytest.raises(ShapeError, match="ToFrame"):
        frames_to_spikes(np.zeros((3, 4, 5)))


def test_collate_pads_in_time_after_the_recording():
    short, long = np.ones((2, 2, 3, 3), dtype=np.int16), np.ones((4, 2, 3, 3), dtype=np.int16)
    spikes, labels = collate_frames([(short, 7), (long, 1)])
    assert spikes.shape == (4, 2, 2, 3, 3) and labels.tolist() == [7, 1]
    assert spikes[:2, 0].sum() == 2 * 18 and spikes[2:, 0].sum() == 0 and spikes[:, 1].sum() == 4 * 18
    with pytest.raises(ShapeError):
        pad_time([torch.ones(5, 2)], steps=3)
    with pytest.raises(ShapeError):
        pad_time([torch.ones(2, 2), torch.ones(2, 3)])


def test_tonic_frames_land_in_the_time_first_layout():
    transforms = _tonic().transforms
    events = _events([(1, 0, 100, 0), (5, 3, 1100, 1), (2, 2, 2100, 1), (0, 0, 3100, 0)])
    frames = transforms.ToFrame(sensor_size=(6, 4, 2), time_window=1000)(events)
    spikes, _ = collate_frames([(frames, 0), (frames[:1], 1)])
    assert spikes.shape[1:] == (2, 2, 4, 6)  # [T, B, P, H, W]
    assert spikes[0, 0, 0, 0, 1] == 1 and spikes[1, 0, 1, 3, 5] == 1 and spikes[2, 0, 1, 2, 2] == 1
    assert spikes[0, 1].sum() == 1 and spikes[1:, 1].sum() == 0


def _network(steps_out=10):
    torch.manual_seed(0)
    return SNNSequential(
        Conv2d(2, 4, 5, stride=3), LIF(tau_mem=20.0, reset=Reset.ZERO), Flatten(),
        Dense(4 * 10 * 10, steps_out), LIF(tau_mem=20.0, reset=Reset.ZERO),
    )  # fmt: skip


def _training_step(loader):
    """One optimizer step of a spikegrad network on the first batch: returns (spikes, loss, weight change)."""
    net = _network()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    before = net[3].weight.detach().clone()
    spikes, labels = next(iter(loader))
    output, _ = net(spikes)
    loss = rate_cross_entropy(output, labels)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return spikes, loss, (net[3].weight.detach() - before).abs().max()


def _tonic_nmnist_transform():
    transforms = _tonic().transforms
    return transforms.Compose([
        transforms.Denoise(filter_time=10_000),
        transforms.ToFrame(sensor_size=tonic_sensor_size(NMNIST_SENSOR), time_window=10_000),
    ])  # fmt: skip


def test_tonic_reader_and_transforms_on_written_nmnist_files(tmp_path):
    """Official 40-bit N-MNIST files written here (Train/<digit>/*.bin): Tonic reads what we read, and its
    Denoise + ToFrame pipeline feeds a training step."""
    tonic = _tonic()
    rng = np.random.default_rng(0)
    for digit in range(3):
        folder = tmp_path / "Train" / str(digit)
        folder.mkdir(parents=True)
        for sample in range(2):  # a blob of events around a digit-dependent centre, over 300 ms
            n = 1500
            centre = 8 + 8 * digit
            x = np.clip(rng.normal(centre, 3, n).round(), 0, 33).astype(np.int64)
            y = np.clip(rng.normal(17, 3, n).round(), 0, 33).astype(np.int64)
            write_40bit_events(folder / f"{sample:05d}.bin", _events(np.stack([x, y, np.sort(rng.integers(0, 300_000, n)), rng.integers(0, 2, n)], 1)))
    first = tmp_path / "Train" / "0" / "00000.bin"
    theirs = tonic.io.read_mnist_file(str(first), dtype=np.dtype([("x", int), ("y", int), ("t", int), ("p", int)]))
    ours = read_40bit_events(first, NMNIST_SENSOR)
    assert all(np.array_equal(ours[f].astype(np.int64), theirs[f]) for f in "xytp")
    dataset = nmnist(tmp_path, "train", transform=_tonic_nmnist_transform())
    loader = torch.utils.data.DataLoader(dataset, batch_size=6, shuffle=True, collate_fn=collate_frames,
                                         generator=torch.Generator().manual_seed(0))  # fmt: skip
    spikes, loss, change = _training_step(loader)
    assert spikes.shape[1:] == (6, 2, 34, 34) and 25 <= spikes.shape[0] <= 31 and set(spikes.unique().tolist()) == {0.0, 1.0}
    assert torch.isfinite(loss) and change > 0


def test_tonic_nmnist_samples_train_through_the_trainer(shared_data, tmp_path):
    """The real N-MNIST sample files with Tonic's Denoise + ToFrame, through ClassificationExperiment and Trainer."""
    root = shared_data / "nmnist" / "NMNISTsmall"
    transform = _tonic_nmnist_transform()
    train = torch.utils.data.Subset(nmnist_small(root, "train", transform=transform), range(0, 1000, 25))
    test = torch.utils.data.Subset(nmnist_small(root, "test", transform=transform), range(0, 100, 5))
    splits = {"train": sparse_split(train, steps=31), "test": sparse_split(test, steps=31)}
    spikes, labels = splits["train"]
    assert spikes.shape == (31, 2, 34, 34) and len(spikes) == 40 and labels.tolist()[:3] == [
        nmnist_small(root, "train").labels[i] for i in (0, 25, 50)
    ]
    config = RunConfig(recipe="tonic-nmnist", settings=Settings(), epochs=2, batch_size=8, eval_batch_size=20, lr=1e-2)
    parts = ClassificationParts(splits.__getitem__, dense_spikes, _network(), rate_cross_entropy)
    experiment = ClassificationExperiment(config, parts)
    before = experiment.model[3].weight.detach().clone()
    summary = Trainer(experiment, tmp_path / "run").fit()
    assert summary["epochs"] == 2 and 0.0 <= summary["test_accuracy"] <= 1.0
    assert (experiment.model[3].weight.detach() - before).abs().max() > 0 and (tmp_path / "run" / "model.safetensors").is_file()
