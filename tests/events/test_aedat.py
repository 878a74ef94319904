"""AEDAT 3.1 reader on files the tests write (random and real DVS128 events encoded, hand-built packets)."""

import struct

import numpy as np
import pytest

from spikegrad.data.aedat import (
    END_HEADER,
    PACKET_HEADER,
    decode_aedat31,
    encode_aedat31,
    read_aedat31,
    write_aedat31,
)
from spikegrad.data.nmnist import read_40bit_events
from spikegrad.errors import DataFormatError


@pytest.fixture(scope="module")
def real_events(shared_data):
    return read_40bit_events(shared_data / "dvs-gesture" / "slayer_bs2_1450ms" / "1.bs2", (128, 128))


def _packet(kind, words, size=8, ts_offset=4, overflow=0, capacity=None, valid=None):
    number = len(words) * 4 // size
    capacity = number if capacity is None else capacity
    valid = number if valid is None else valid
    return PACKET_HEADER.pack(kind, 1, size, ts_offset, overflow, capacity, number, valid) + np.asarray(words, "<u4").tobytes()


def _file(*packets):
    return b"#!AER-DAT3.1\r\n#Format: RAW\r\n#Source 1: DVS128\r\n" + END_HEADER + b"".join(packets)


def test_round_trip_of_real_events(tmp_path, real_events):
    path = tmp_path / "trial.aedat"
    write_aedat31(path, real_events, packet_events=5000)
    back = read_aedat31(path)
    assert back.tolist() == real_events.tolist()


def test_timestamp_overflow_across_packets(real_events):
    events = real_events[:3000].copy()
    events["t"] += 2**31 - 1000
    back = decode_aedat31(encode_aedat31(events, packet_events=700), "mem")
    assert np.array_equal(back["t"], events["t"]) and back["t"].max() > 2**31


def test_bit_layout_invalid_events_and_other_packets():
    def word(x, y, p, valid=1):
        return (x << 17) | (y << 2) | (p << 1) | valid

    special = _packet(0, [0, 5, 0, 6], size=8)  # a special-event packet: skipped
    polarity = _packet(1, [word(127, 0, 1), 10, word(5, 6, 0, valid=0), 11, word(0, 127, 0), 12])
    events = decode_aedat31(_file(special, polarity), "mem")
    assert events.tolist() == [(127, 0, 10, 1), (0, 127, 12, 0)]


@pytest.mark.parametrize(("data", "match", "offset"), [
    (b"#!AER-DAT2.0\r\n" + END_HEADER, "AER-DAT3.1", 0),
    (b"#!AER-DAT3.1\r\n#Format: RAW\r\n", "END-HEADER", 28),
    (b"#!AER-DAT3.1\r\nnot a comment\r\n" + END_HEADER, "header line", 14),
])
def test_bad_headers(data, match, offset):
    with pytest.raises(DataFormatError, match=match) as info:
        decode_aedat31(data, "bad.aedat")
    assert info.value.offset == offset and "bad.aedat" in str(info.value)


def test_truncations_and_corrupt_packets():
    good = _packet(1, [(3 << 17) | 1, 10, (4 << 17) | 1, 11])
    start = len(_file())
    with pytest.raises(DataFormatError, match="packet header") as info:
        decode_aedat31(_file(good[:20]), "f")
    assert info.value.offset == start
    with pytest.raises(DataFormatError, match="truncated packet") as info:
        decode_aedat31(_file(good[:-3]), "f")
    assert info.value.offset == start + PACKET_HEADER.size
    with pytest.raises(DataFormatError, match="eventValid"):
        decode_aedat31(_file(_packet(1, [1, 1], valid=5)), "f")
    with pytest.raises(DataFormatError, match="eventSize"):
        decode_aedat31(_file(_packet(1, [1, 1, 1, 1], size=16)), "f")
    with pytest.raises(DataFormatError, match="outside") as info:
        decode_aedat31(_file(good, _packet(1, [(200 << 17) | 1, 12])), "f")
    assert info.value.offset == start + len(good) + PACKET_HEADER.size
    with pytest.raises(DataFormatError, match="decreases"):
        decode_aedat31(_file(good, _packet(1, [(3 << 17) | 1, 5])), "f")
    with pytest.raises(DataFormatError, match="bit 31"):
        decode_aedat31(_file(_packet(1, [(3 << 17) | 1, 2**31])), "f")


def test_header_only_recording_is_an_error():
    with pytest.raises(DataFormatError, match="no valid polarity events after the header") as info:
        decode_aedat31(_file(), "f")
    assert info.value.offset == len(_file())
    assert struct.calcsize("<HHIIIIII") == PACKET_HEADER.size == 28


@pytest.mark.parametrize(
    "packets",
    [
        [_packet(0, [0, 5, 0, 6])],  # only a special-event packet
        [_packet(1, [(3 << 17) | 0, 10, (4 << 17) | 0, 11])],  # polarity events, all invalidated
        [_packet(1, [])],  # an empty polarity packet
    ],
)
def test_no_valid_polarity_event_is_an_error(tmp_path, packets):
    path = tmp_path / "user01_led.aedat"
    path.write_bytes(_file(*packets))
    with pytest.raises(DataFormatError, match="no valid polarity events") as info:
        read_aedat31(path)
    assert "user01_led.aedat" in str(info.value)


def _synthetic(n: int = 4000, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.sort(rng.integers(0, 1_450_000, n))
    return np.rec.fromarrays([rng.integers(0, 128, n), rng.integers(0, 128, n), t, rng.integers(0, 2, n)], names="x,y,t,p")


@pytest.mark.parametrize("packet_events", [1, 700, 5000])
def test_round_trip_of_written_events(tmp_path, packet_events):
    events = _synthetic()
    path = tmp_path / "trial.aedat"
    write_aedat31(path, events, packet_events=packet_events)
    back = read_aedat31(path)
    assert back.tolist() == events.tolist()


def test_timestamp_overflow_of_written_events():
    events = _synthetic(3000)
    events["t"] += 2**31 - 1000
    back = decode_aedat31(encode_aedat31(events, packet_events=700), "mem")
    assert np.array_equal(back["t"], events["t"]) and back["t"].max() > 2**31


def test_huge_declared_packet_is_refused_before_allocating():
    header = PACKET_HEADER.pack(1, 1, 8, 4, 0, 2**32 - 1, 2**32 - 1, 2**32 - 1)
    with pytest.raises(DataFormatError, match="truncated packet: 4294967295 events of 8 bytes, only 0 left"):
        decode_aedat31(_file() + header, "f")
