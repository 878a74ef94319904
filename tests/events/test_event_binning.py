"""Event arrays, binning into [T, P, H, W], jitter, and time-first collation."""

import numpy as np
import pytest
import torch

from spikegrad.data.events import (
    EVENT_DTYPE,
    BinMode,
    EventBinning,
    EventsToSpikes,
    FileDataset,
    bin_events,
    collate_time_first,
    jitter_events,
    make_events,
)  # fmt: skip
from spikegrad.errors import ConfigError, ShapeError

BINNING = EventBinning(sensor_size=(4, 3), sample_ms=5.0, ts=1.0)


def _events(rows):
    x, y, t, p = np.array(rows, dtype=np.int64).T
    return make_events(x, y, t, p)


def test_dtype_is_tonic_compatible():
    events = _events([(1, 2, 1500, 1)])
    assert events.dtype == EVENT_DTYPE and events.dtype.names == ("x", "y", "t", "p")
    assert events["t"][0] == 1500 and events.dtype["t"] == np.int64


def test_or_and_count_binning():
    events = _events([(1, 2, 1400, 1), (1, 2, 1600, 1), (1, 2, 600, 1), (0, 0, 4400, 0)])
    # bins rint(t / 1000): 1400 -> 1, 1600 -> 2, 600 -> 1 (duplicate of the first), 4400 -> 4
    spikes = bin_events(events, BINNING)
    assert spikes.shape == (5, 2, 3, 4) and spikes.dtype == torch.float32
    assert spikes.sum().item() == 3 and spikes[1, 1, 2, 1] == 1 and spikes[2, 1, 2, 1] == 1 and spikes[4, 0, 0, 0] == 1
    counts = bin_events(events, EventBinning((4, 3), 5.0, mode=BinMode.COUNT))
    assert counts[1, 1, 2, 1] == 2 and counts.sum().item() == 4


def test_events_outside_are_dropped():
    events = _events([(4, 0, 0, 0), (0, 3, 0, 0), (0, 0, 0, 2), (0, 0, 4600, 0), (3, 2, 4499, 1)])
    spikes = bin_events(events, BINNING)
    assert spikes.sum().item() == 1 and spikes[4, 1, 2, 3] == 1


def test_sub_millisecond_bins():
    binning = EventBinning((1, 1), sample_ms=1.0, ts=0.1)
    assert binning.steps == 10
    spikes = bin_events(_events([(0, 0, 349, 0), (0, 0, 351, 0)]), binning)
    assert spikes[:, 0, 0, 0].nonzero().flatten().tolist() == [3, 4]


def test_jitter_translates_and_drops():
    events = _events([(0, 0, 10, 0), (3, 2, 20, 1)])
    moved = jitter_events(events, -1, -1, (4, 3))
    assert moved.tolist() == [(2, 1, 20, 1)]
    assert jitter_events(events, 0, 0, (4, 3)).tolist() == events.tolist()


def test_random_jitter_is_seeded():
    transform = EventsToSpikes(EventBinning((34, 34), 10.0), max_jitter=8)
    events = _events([(17, 17, t * 1000, t % 2) for t in range(10)])
    torch.manual_seed(3)
    a = transform(events)
    torch.manual_seed(3)
    b = transform(events)
    assert torch.equal(a, b) and a.sum() == 10


def test_collate_time_first():
    batch = [(torch.zeros(7, 2, 3, 3), 4), (torch.ones(7, 2, 3, 3), 1)]
    spikes, labels = collate_time_first(batch)
    assert spikes.shape == (7, 2, 2, 3, 3) and spikes[:, 1].sum() == 7 * 18
    assert labels.tolist() == [4, 1] and labels.dtype == torch.int64


def test_file_dataset_and_errors(tmp_path):
    dataset = FileDataset([tmp_path / "a", tmp_path / "b"], [3, 5], reader=lambda path: path.name, transform=str.upper)
    assert len(dataset) == 2 and dataset[1] == ("B", 5)
    with pytest.raises(ShapeError):
        FileDataset([tmp_path / "a"], [1, 2], reader=str)
    with pytest.raises(ConfigError, match="sensor_size"):
        EventBinning((0, 3), 5.0)
    with pytest.raises(ConfigError, match="sample_ms"):
        EventBinning((3, 3), 0.2, ts=1.0)
    with pytest.raises(ShapeError, match="events"):
        bin_events(np.zeros(3), BINNING)
