"""Fuzzing: truncated or corrupted files give DataFormatError (naming the file), never another error or a hang."""

import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spikegrad.data.aedat import decode_aedat31, encode_aedat31
from spikegrad.data.audio import read_wav
from spikegrad.data.dvs_gesture import read_gesture_labels
from spikegrad.data.nmnist import decode_40bit, read_40bit_events
from spikegrad.errors import DataFormatError

CSV_BYTES = b"class,startTime_usec,endTime_usec\n1,80048239,85092709\n8,150717639,157362334\n8,157773346,164029864\n"
FUZZ = settings(max_examples=120, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _damage(data: bytes, cut: int, flips: list[tuple[int, int]]) -> bytes:
    damaged = bytearray(data[: cut % (len(data) + 1)])
    for position, value in flips:
        if damaged:
            damaged[position % len(damaged)] = value
    return bytes(damaged)


DAMAGE = dict(
    cut=st.integers(min_value=0, max_value=10**7),
    flips=st.lists(st.tuples(st.integers(min_value=0, max_value=10**7), st.integers(0, 255)), max_size=6),
)


@pytest.fixture(scope="module")
def originals(shared_data):
    """Undamaged real inputs: an N-MNIST file, real DVS events as AEDAT 3.1, an FSDD recording."""
    events = read_40bit_events(shared_data / "dvs-gesture" / "slayer_bs2_1450ms" / "1.bs2")[:3000]
    return {
        "nmnist": (shared_data / "nmnist" / "NMNISTsmall" / "7.bs2").read_bytes(),
        "aedat": encode_aedat31(events, packet_events=256),
        "wav": (shared_data / "fsdd" / "recordings" / "5_lucas_12.wav").read_bytes(),
    }


def _survives(parse, name: str) -> None:
    """``parse()`` returns or raises DataFormatError naming ``name``, within 1.5 s."""
    start = time.perf_counter()
    try:
        parse()
    except DataFormatError as exc:
        assert name in str(exc)
    assert time.perf_counter() - start < 1.5


@FUZZ
@given(**DAMAGE)
def test_40bit_reader(originals, cut, flips):
    data = _damage(originals["nmnist"], cut, flips)
    _survives(lambda: decode_40bit(data, "7.bs2", (34, 34)), "7.bs2")


@FUZZ
@given(**DAMAGE)
def test_aedat_reader(originals, cut, flips):
    data = _damage(originals["aedat"], cut, flips)
    _survives(lambda: decode_aedat31(data, "trial.aedat"), "trial.aedat")


@FUZZ
@given(**DAMAGE)
def test_aedat_header_fields(originals, cut, flips):
    # Aim the corruption at the first packet header, where lengths and counts live.
    original = originals["aedat"]
    start = original.index(b"#!END-HEADER\r\n") + 14
    flips = [(start + position % 28, value) for position, value in flips]
    data = _damage(original, len(original) if cut % 2 else cut, flips)
    _survives(lambda: decode_aedat31(data, "trial.aedat"), "trial.aedat")


@FUZZ
@given(**DAMAGE)
def test_wav_reader(originals, tmp_path, cut, flips):
    path = tmp_path / "fuzz.wav"
    path.write_bytes(_damage(originals["wav"], cut, [(p % 64, v) for p, v in flips[:3]] + flips[3:]))
    _survives(lambda: read_wav(path), "fuzz.wav")


@FUZZ
@given(**DAMAGE)
def test_label_csv_reader(tmp_path, cut, flips):
    path = tmp_path / "fuzz_labels.csv"
    path.write_bytes(_damage(CSV_BYTES, cut, flips))
    _survives(lambda: read_gesture_labels(path), "fuzz_labels.csv")


def test_undamaged_inputs_parse(originals, tmp_path):
    assert len(decode_40bit(originals["nmnist"], "7.bs2", (34, 34))) == len(originals["nmnist"]) // 5
    assert len(decode_aedat31(originals["aedat"], "trial.aedat")) == 3000
    (tmp_path / "a.wav").write_bytes(originals["wav"])
    assert np.isfinite(read_wav(tmp_path / "a.wav").samples).all()
