"""DVS128 Gesture: label CSVs, trial cutting, and the dataset on a release folder the tests write."""

from pathlib import Path

import numpy as np
import pytest

from spikegrad.data.aedat import write_aedat31
from spikegrad.data.dvs_gesture import CLASSES, DVSGesture, cut_trial, read_gesture_labels, read_trial_list
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


@pytest.mark.parametrize(
    ("text", "rows"),
    [
        ("1,10,20\n2,30,40\n", [(0, 10, 20), (1, 30, 40)]),  # no header: the first gesture is kept
        ("\n\nClass, startTime_usec , endTime_usec\r\n3,5,9\r\n", [(2, 5, 9)]),  # header after blank lines
        (HEADER + "1,10,20\n\n\n", [(0, 10, 20)]),
    ],
)
def test_header_is_skipped_only_when_it_is_one(tmp_path, text, rows):
    path = tmp_path / "user01_led_labels.csv"
    path.write_text(text)
    assert read_gesture_labels(path).tolist() == rows


@pytest.mark.parametrize(
    ("text", "match", "offset"),
    [
        (HEADER + "1,10,20\n" + HEADER, "line 3: expected 'class,startTime_usec,endTime_usec'", 2),
        ("label,start,end\n1,10,20\n", r"line 1: expected 'class,startTime_usec,endTime_usec' \(the header", 0),
        (HEADER + "1,0," + str(10**23) + "\n", f"line 2: value {10**23} does not fit in 64 bits", 1),
        (HEADER + "1,0,9223372036854775808\n", "line 2: value 9223372036854775808 does not fit in 64 bits", 1),
        (HEADER + "1,0," + "9" * 5000 + "\n", r"line 2: value 99999999999999999999\.\.\. \(5000 digits\)", 1),
        (HEADER + "0,10,20\n", "line 2: class 0, expected a class in 1..11", 1),
        (HEADER + "1,-10,20\n", "line 2: expected", 1),
    ],
)
def test_label_csv_values(tmp_path, text, match, offset):
    path = tmp_path / "x_labels.csv"
    path.write_text(text)
    with pytest.raises(DataFormatError, match=match) as info:
        read_gesture_labels(path)
    lines = text.splitlines(keepends=True)
    assert info.value.offset == sum(len(line) for line in lines[:offset]) and "x_labels.csv" in str(info.value)


def test_largest_time_that_fits(tmp_path):
    path = tmp_path / "x_labels.csv"
    path.write_text(HEADER + f"11,0,{2**63 - 1}\n")
    assert read_gesture_labels(path).tolist() == [(10, 0, 2**63 - 1)]


@pytest.mark.parametrize("text", ["", "\n \n", HEADER])
def test_empty_label_file_is_an_error(tmp_path, text):
    path = tmp_path / "x_labels.csv"
    path.write_text(text)
    with pytest.raises(DataFormatError, match="no label rows"):
        read_gesture_labels(path)


@pytest.mark.parametrize(("text", "match"), [("", "names no trial"), ("\n\n", "names no trial"),
                                             ("a.aedat\nb.txt\n", "line 2: expected '.aedat' file names, got 'b.txt'")])
def test_trial_list_errors(tmp_path, text, match):
    path = tmp_path / "trials_to_train.txt"
    path.write_text(text)
    with pytest.raises(DataFormatError, match=match):
        read_trial_list(path)


def _random_events(n: int, seed: int, start_us: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = start_us + np.sort(rng.integers(0, 1_450_000, n))
    return np.rec.fromarrays([rng.integers(0, 128, n), rng.integers(0, 128, n), t, rng.integers(0, 2, n)], names="x,y,t,p")


@pytest.fixture(scope="module")
def written_release(tmp_path_factory):
    """A release folder written by the test from random events: two trials, three label rows, no header in one."""
    folder = tmp_path_factory.mktemp("DvsGestureWritten")
    first = np.concatenate([_random_events(300, 1, 1_000_000), _random_events(200, 2, 3_000_000)])
    write_aedat31(folder / "user01_led.aedat", first, packet_events=128)
    (folder / "user01_led_labels.csv").write_text("4,1000000,2450000\n11,3000000,4450000\n")  # headerless
    write_aedat31(folder / "user24_led.aedat", _random_events(100, 3, 0))
    (folder / "user24_led_labels.csv").write_text(HEADER + "6,0,1450000\n")
    (folder / "trials_to_train.txt").write_text("user01_led.aedat\n")
    (folder / "trials_to_test.txt").write_text("user24_led.aedat\n")
    return folder, first


def test_dataset_on_a_release_written_by_the_test(written_release):
    folder, first = written_release
    train, test = DVSGesture(folder, "train"), DVSGesture(folder, "test")
    assert (len(train), len(test)) == (2, 1)
    (events, label), (second, other) = train[0], train[1]
    assert (label, other, test[0][1]) == (3, 10, 5)
    assert events.tolist() == [(x, y, t - 1_000_000, p) for x, y, t, p in first[:300].tolist()]
    assert len(second) == 200 and second["t"].min() >= 0


def test_missing_files(tmp_path):
    with pytest.raises(DataNotFoundError):
        DVSGesture(tmp_path, "train")
    (tmp_path / "trials_to_test.txt").write_text("user99_lab.aedat\n")
    with pytest.raises(DataNotFoundError, match="user99_lab"):
        DVSGesture(tmp_path, "test")
    with pytest.raises(ConfigError):
        DVSGesture(tmp_path, "all")
