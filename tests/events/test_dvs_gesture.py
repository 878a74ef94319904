"""DVS128 Gesture: label CSVs, trial cutting, and the dataset on a release folder the tests write."""

from pathlib import Path

import numpy as np
import pytest

from spikegrad.data.aedat import write_aedat31
from spikegrad.data.dvs_gesture import (
    CLASSES,
    DVSGesture,
    cut_trial,
    read_gesture_labels,
)
from spikegrad.data.events import EventBinning, EventsToSpikes
from spikegrad.data.nmnist import read_40bit_events
from spikegrad.errors import ConfigError, DataFormatError, DataNotFoundError

HEADER = "class,startTime_usec,endTime_usec\n"


def _trial(clips_dir: Path, folder: Path, name: str, clips: list[int], start_us: int) -> list[tuple[int, int, int]]:
    """Write a trial made of real clips one after another, 2 s apart, and its labels CSV."""
    pieces, rows = [], []
    for k, clip in enumerate(clips):
        events = read_40bit_events(clips_dir / f"{clip}.bs2", (128, 128))
        offset = start_us + 2_000_000 * k
        events["t"] += offset
        pieces.append(events)
        rows.append((clip, offset, offset + 1_450_000))
    write_aedat31(folder / f"{name}.aedat", np.concatenate(pieces))
    (folder / f"{name}_labels.csv").write_text(HEADER + "".join(f"{c},{s},{e}\n" for c, s, e in rows))
    return rows


@pytest.fixture(scope="module")
def clips(shared_data):
    return shared_data / "dvs-gesture" / "slayer_bs2_1450ms"


@pytest.fixture(scope="module")
def release(clips, tmp_path_factory):
    folder = tmp_path_factory.mktemp("DvsGesture")
    _trial(clips, folder, "user01_fluorescent", [1, 2, 8], 80_000_000)
    _trial(clips, folder, "user02_led", [3], 5_000_000)
    _trial(clips, folder, "user24_natural", [9, 10], 1_000_000)
    (folder / "trials_to_train.txt").write_text("user01_fluorescent.aedat\nuser02_led.aedat\n\n")
    (folder / "trials_to_test.txt").write_text("user24_natural.aedat\n")
    return folder


def test_dataset_cuts_every_label_row(clips, release):
    train, test = DVSGesture(release, "train"), DVSGesture(release, "test")
    assert (len(train), len(test)) == (4, 2)
    assert [train[i][1] for i in range(4)] == [0, 1, 7, 2]  # classes 1, 2, 8, 3 -> 0-based
    events, label = test[1]
    original = read_40bit_events(clips / "10.bs2", (128, 128))
    assert label == 9 and CLASSES[label] == "air_guitar"
    assert events.tolist() == original.tolist()  # times are relative to the row's start again


def test_binning_a_sample_as_slayer(release):
    spikes = EventsToSpikes(EventBinning((128, 128), 1450.0))(DVSGesture(release, "train")[0][0])
    assert spikes.shape == (1450, 2, 128, 128) and spikes.sum() > 10_000


def test_cut_trial_is_half_open_and_allows_overlap():
    events = np.rec.fromarrays([[0] * 5, [0] * 5, [10, 20, 30, 40, 50], [1] * 5], names="x,y,t,p")
    labels = np.array([(0, 20, 40), (1, 30, 51)], dtype=[("label", "i8"), ("start", "i8"), ("stop", "i8")])
    (first, a), (second, b) = cut_trial(events, labels)
    assert (a, b) == (0, 1)
    assert first["t"].tolist() == [0, 10] and second["t"].tolist() == [0, 10, 20]


def test_label_csv_errors(tmp_path):
    path = tmp_path / "x_labels.csv"
    path.write_text(HEADER + "1,10,20\n12,30,40\n")
    with pytest.raises(DataFormatError, match="class") as info:
        read_gesture_labels(path)
    assert info.value.offset == len(HEADER) + len("1,10,20\n")
    path.write_text(HEADER + "3,50,40\n")
    with pytest.raises(DataFormatError, match="start < stop"):
        read_gesture_labels(path)
    path.write_text(HEADER + "3;50;40\n")
    with pytest.raises(DataFormatError, match="expected"):
        read_gesture_labels(path)
    path.write_text(HEADER + "2, 5, 9\r\n")
    assert read_gesture_labels(path).tolist() == [(1, 5, 9)]


def test_missing_files(tmp_path):
    with pytest.raises(DataNotFoundError):
        DVSGesture(tmp_path, "train")
    (tmp_path / "trials_to_test.txt").write_text("user99_lab.aedat\n")
    with pytest.raises(DataNotFoundError, match="user99_lab"):
        DVSGesture(tmp_path, "test")
    with pytest.raises(ConfigError):
        DVSGesture(tmp_path, "all")
