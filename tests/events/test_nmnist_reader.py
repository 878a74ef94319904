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


def test_truncated_file(small, tmp_path):
    path = tmp_path / "cut.bin"
    path.write_bytes((small / "1.bs2").read_bytes()[:1003])
    with pytest.raises(DataFormatError, match="truncated") as info:
        read_40bit_events(path, NMNIST_SENSOR)
    assert info.value.offset == 1000 and info.value.path == path and "cut.bin" in str(info.value)


def test_corrupt_event_outside_sensor_and_time_going_back(small):
    data = bytearray((small / "1.bs2").read_bytes())
    data[5 * 7] = 200  # x of event 7
    with pytest.raises(DataFormatError, match="outside") as info:
        decode_40bit(bytes(data), "1.bs2", NMNIST_SENSOR)
    assert info.value.offset == 35
    data = bytearray((small / "1.bs2").read_bytes())
    data[5 * 300 + 2] &= 0x80  # clear the high timestamp bits of event 300
    data[5 * 300 + 3] = 0
    with pytest.raises(DataFormatError, match="decreases") as info:
        decode_40bit(bytes(data), "1.bs2")
    assert info.value.offset == 1500


def test_writer_rejects_what_the_layout_cannot_hold():
    events = np.rec.fromarrays([[1], [2], [2**23], [0]], names="x,y,t,p")
    with pytest.raises(ConfigError):
        encode_40bit(events)


def test_official_nmnist_layout(small, tmp_path):
    source = read_40bit_events(small / "1.bs2")
    for split, folder in (("train", "Train"), ("test", "Test")):
        for digit in (0, 3):
            (tmp_path / folder / str(digit)).mkdir(parents=True)
            write_40bit_events(tmp_path / folder / str(digit) / "00001.bin", source)
    dataset = nmnist(tmp_path, "test")
    assert dataset.labels == [0, 3] and np.array_equal(dataset[1][0], source)
    with pytest.raises(DataNotFoundError):
        nmnist(tmp_path / "missing", "train")
    with pytest.raises(ConfigError, match="split"):
        nmnist_small(small, "validation")
