"""40-bit event files: every staged N-MNIST and DVS Gesture file, the datasets, and written files."""

import numpy as np
import pytest

from spikegrad.data.events import EventBinning, EventsToSpikes
from spikegrad.data.nmnist import (
    NMNIST_SENSOR,
    decode_40bit,
    encode_40bit,
    nmnist,
    nmnist_small,
    read_40bit_events,
    read_sample_list,
    write_40bit_events,
)  # fmt: skip
from spikegrad.errors import ConfigError, DataFormatError, DataNotFoundError

# dvs-gesture/PROVENANCE.md: (events, ON, OFF) per clip
GESTURE_STATS = {
    1: (63471, 32164, 31307), 2: (84260, 43472, 40788), 3: (113063, 55396, 57667), 4: (151879, 77731, 74148),
    5: (181179, 93262, 87917), 6: (124244, 61259, 62985), 7: (159617, 77603, 82014), 8: (101288, 50762, 50526),
    9: (141773, 70469, 71304), 10: (85936, 47461, 38475),
}  # fmt: skip


@pytest.fixture(scope="module")
def small(shared_data):
    return shared_data / "nmnist" / "NMNISTsmall"


def test_every_nmnist_small_file(small):
    train, test = nmnist_small(small, "train"), nmnist_small(small, "test")
    assert (len(train), len(test)) == (1000, 100)
    assert np.bincount(train.labels).tolist() == [97, 116, 99, 93, 105, 92, 94, 117, 87, 100]
    assert np.bincount(test.labels, minlength=10).tolist() == [8, 14, 8, 11, 14, 7, 10, 15, 2, 11]
    counts, last = [], []
    for dataset in (train, test):
        for index in range(len(dataset)):
            events, _ = dataset[index]
            assert events["x"].max() <= 33 and events["y"].max() <= 33 and set(np.unique(events["p"])) <= {0, 1}
            counts.append(len(events))
            last.append(int(events["t"][-1]))
    assert (min(counts), int(np.median(counts)), max(counts)) == (1069, 4163, 7152)
    assert (min(last), max(last)) == (296841, 336040)


def test_nmnist_small_lists_map_ids(small):
    samples = read_sample_list(small / "test100.txt")
    assert samples[0][0] == 60001 and len(samples) == 100
    dataset = nmnist_small(small, "test")
    assert dataset.files[0].name == "60001.bs2" and dataset.labels[0] == samples[0][1]


@pytest.mark.parametrize("clip", sorted(GESTURE_STATS))
def test_every_dvs_gesture_clip(shared_data, clip):
    events = read_40bit_events(shared_data / "dvs-gesture" / "slayer_bs2_1450ms" / f"{clip}.bs2", (128, 128))
    total, on, off = GESTURE_STATS[clip]
    assert (len(events), int(events["p"].sum()), int((events["p"] == 0).sum())) == (total, on, off)
    assert events["x"].max() <= 127 and events["y"].max() <= 127
    assert 1_449_000 <= events["t"][-1] < 1_450_000


def test_binning_a_real_sample(small):
    events, _ = nmnist_small(small, "train")[0]
    spikes = EventsToSpikes(EventBinning(NMNIST_SENSOR, 300.0))(events)
    assert spikes.shape == (300, 2, 34, 34)
    late = events["t"] >= 299_500  # rint(t / 1000) >= 300: outside the 300 bins
    assert 0.9 * (len(events) - late.sum()) < spikes.sum() <= len(events) - late.sum()


def test_round_trip_and_overflow_marker():
    rng = np.random.default_rng(0)
    t = np.sort(rng.integers(0, 2**23, 500))
    events = np.rec.fromarrays([rng.integers(0, 34, 500), rng.integers(0, 34, 500), t, rng.integers(0, 2, 500)], names="x,y,t,p")
    data = encode_40bit(events)
    back = decode_40bit(data, "mem", NMNIST_SENSOR)
    for field in "xytp":
        assert np.array_equal(back[field], events[field])
    marker = bytes([0, 240, 0, 0, 0])
    shifted = decode_40bit(data[:50] + marker + data[50:], "mem")
    assert len(shifted) == 500 and np.array_equal(shifted["t"][10:], events["t"][10:] + 2**13)


def _events(n: int = 500, seed: int = 0, sensor: tuple[int, int] = NMNIST_SENSOR) -> np.ndarray:
    """``n`` random events on ``sensor`` with non-decreasing times below 2**23 us."""
    rng = np.random.default_rng(seed)
    t = np.sort(rng.integers(0, 300_000, n))
    return np.rec.fromarrays(
        [rng.integers(0, sensor[0], n), rng.integers(0, sensor[1], n), t, rng.integers(0, 2, n)], names="x,y,t,p"
    )


def test_truncated_file(tmp_path):
    path = tmp_path / "cut.bin"
    path.write_bytes(encode_40bit(_events())[:1003])
    with pytest.raises(DataFormatError, match="truncated") as info:
        read_40bit_events(path, NMNIST_SENSOR)
    assert info.value.offset == 1000 and info.value.path == path and "cut.bin" in str(info.value)


def test_corrupt_event_outside_sensor_and_time_going_back():
    data = bytearray(encode_40bit(_events()))
    data[5 * 7] = 200  # x of event 7
    with pytest.raises(DataFormatError, match="outside") as info:
        decode_40bit(bytes(data), "1.bs2", NMNIST_SENSOR)
    assert info.value.offset == 35
    data = bytearray(encode_40bit(_events()))
    data[5 * 300 + 2] &= 0x80  # clear the timestamp bits of event 300
    data[5 * 300 + 3] = 0
    data[5 * 300 + 4] = 0
    with pytest.raises(DataFormatError, match="decreases") as info:
        decode_40bit(bytes(data), "1.bs2")
    assert info.value.offset == 1500


def test_writer_rejects_what_the_layout_cannot_hold():
    events = np.rec.fromarrays([[1], [2], [2**23], [0]], names="x,y,t,p")
    with pytest.raises(ConfigError):
        encode_40bit(events)


def test_official_nmnist_layout(tmp_path):
    source = _events(seed=3)
    for split, folder in (("train", "Train"), ("test", "Test")):
        for digit in (0, 3):
            (tmp_path / folder / str(digit)).mkdir(parents=True)
            write_40bit_events(tmp_path / folder / str(digit) / "00001.bin", source)
    dataset = nmnist(tmp_path, "test")
    assert dataset.labels == [0, 3] and np.array_equal(dataset[1][0], source)
    with pytest.raises(DataNotFoundError):
        nmnist(tmp_path / "missing", "train")
    with pytest.raises(ConfigError, match="split"):
        nmnist_small(tmp_path, "validation")


def _small_folder(folder, train_labels, test_labels):
    """An NMNISTsmall folder as SLAYER ships it: CRLF lists with a '#' header, then <id>\t<label>."""
    folder.mkdir(exist_ok=True)
    for name, first_id, labels in (("train1K.txt", 1, train_labels), ("test100.txt", 60001, test_labels)):
        rows = [f"{first_id + i}\t{label}" for i, label in enumerate(labels)]
        (folder / name).write_bytes(("#sample\t#class\r\n" + "".join(f"{r}\r\n" for r in rows)).encode())
        for i in range(len(labels)):
            write_40bit_events(folder / f"{first_id + i}.bs2", _events(50 + i, seed=first_id + i))
    return folder


def test_nmnist_small_layout_written_by_the_test(tmp_path):
    folder = _small_folder(tmp_path / "NMNISTsmall", [5, 0, 4], [7, 2])
    train, test = nmnist_small(folder, "train"), nmnist_small(folder, "test")
    assert train.labels == [5, 0, 4] and test.labels == [7, 2]
    assert [f.name for f in test.files] == ["60001.bs2", "60002.bs2"]
    events, label = test[1]
    assert label == 2 and np.array_equal(events, _events(51, seed=60002))


def test_nmnist_small_names_a_missing_sample(tmp_path):
    folder = _small_folder(tmp_path / "NMNISTsmall", [5, 0], [7])
    (folder / "2.bs2").unlink()
    with pytest.raises(DataNotFoundError, match="2.bs2"):
        nmnist_small(folder, "train")


# --- empty inputs and labels (issue 18) -----------------------------------------------------------


def test_empty_event_file(tmp_path):
    path = tmp_path / "1.bs2"
    path.write_bytes(b"")
    with pytest.raises(DataFormatError, match="empty 40-bit event file") as info:
        read_40bit_events(path, NMNIST_SENSOR)
    assert info.value.offset == 0 and "1.bs2" in str(info.value)


def test_file_of_overflow_markers_only():
    with pytest.raises(DataFormatError, match="no events: all 3 records are timestamp-overflow markers"):
        decode_40bit(bytes([0, 240, 0, 0, 0]) * 3, "1.bs2")


@pytest.mark.parametrize(
    ("text", "match", "line"),
    [
        ("#sample\t#class\r\n1\t5\r\n2\t99\r\n", "line 3: label 99 of sample 2 is outside 0..9", 3),
        ("1\t10\n", "line 1: label 10 of sample 1 is outside 0..9", 1),
        ("1\t5\n2\t-1\n", r"line 2: expected '<id> <label>', got '2\\t-1'", 2),
        ("1\t5\n2 3 4\n", "line 2: expected '<id> <label>'", 2),
        ("1\t5\n2\t\uff15\n", "line 2: expected '<id> <label>'", 2),  # a full-width digit is not ASCII
        ("1\t5\n" + "9" * 40 + "\t1\n", "line 2: expected '<id> <label>'", 2),
    ],
)
def test_sample_list_errors_name_the_line(tmp_path, text, match, line):
    path = tmp_path / "train1K.txt"
    path.write_bytes(text.encode())
    with pytest.raises(DataFormatError, match=match) as info:
        read_sample_list(path)
    assert "train1K.txt" in str(info.value)
    assert info.value.offset == len("".join(text.encode().decode().splitlines(keepends=True)[: line - 1]).encode())


@pytest.mark.parametrize("text", ["", "\r\n\r\n", "#sample\t#class\r\n"])
def test_empty_sample_list(tmp_path, text):
    path = tmp_path / "test100.txt"
    path.write_text(text)
    with pytest.raises(DataFormatError, match="holds no '<id> <label>' line"):
        read_sample_list(path)


def test_sample_list_with_other_class_count(tmp_path):
    path = tmp_path / "list.txt"
    path.write_text("1 10\n")
    assert read_sample_list(path, num_classes=11) == [(1, 10)]
