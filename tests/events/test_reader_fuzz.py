"""Fuzzing the event and audio readers: damaged files give DataFormatError naming the file, or a result
that the file really holds; never another error, a hang, or a silent accept.

Every reader is fuzzed from a file the test writes in the official format, and again from a real file
when ``../shared/data`` is there. A "silent accept" is a result the damaged file cannot hold: more events
than bytes allow, coordinates off the sensor, times going back, labels out of range, no samples.
"""

import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spikegrad.data.aedat import END_HEADER, decode_aedat31, encode_aedat31
from spikegrad.data.audio import read_wav
from spikegrad.data.dvs_gesture import read_gesture_labels, read_trial_list
from spikegrad.data.nmnist import decode_40bit, encode_40bit, read_40bit_events, read_sample_list
from spikegrad.errors import DataFormatError

CSV_BYTES = b"class,startTime_usec,endTime_usec\n1,80048239,85092709\n8,150717639,157362334\n8,157773346,164029864\n"
LIST_BYTES = b"#sample\t#class\r\n" + b"".join(b"%d\t%d\r\n" % (i, i % 10) for i in range(1, 40))
TRIALS_BYTES = b"user01_fluorescent.aedat\nuser01_led.aedat\n\nuser02_natural.aedat\n"
FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                        HealthCheck.too_slow])
SECONDS = 1.5


def _damage(data: bytes, cut: int, flips: list[tuple[int, int]]) -> bytes:
    damaged = bytearray(data[: cut % (len(data) + 1)])
    for position, value in flips:
        if damaged:
            damaged[position % len(damaged)] = value
    return bytes(damaged)


DAMAGE = {
    "cut": st.integers(min_value=0, max_value=10**7),
    "flips": st.lists(st.tuples(st.integers(min_value=0, max_value=10**7), st.integers(0, 255)), max_size=6),
}


def _written_events(n: int, sensor: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.sort(rng.integers(0, 300_000, n))
    return np.rec.fromarrays([rng.integers(0, sensor, n), rng.integers(0, sensor, n), t, rng.integers(0, 2, n)],
                             names="x,y,t,p")


def _wav(samples: np.ndarray, rate: int = 8000) -> bytes:
    """PCM16 mono RIFF/WAVE bytes, written field by field."""
    data = samples.astype("<i2").tobytes()
    fmt = np.array([1, 1], "<u2").tobytes() + np.array([rate, 2 * rate], "<u4").tobytes() + np.array([2, 16], "<u2").tobytes()
    chunks = b"fmt " + len(fmt).to_bytes(4, "little") + fmt + b"data" + len(data).to_bytes(4, "little") + data
    return b"RIFF" + (4 + len(chunks)).to_bytes(4, "little") + b"WAVE" + chunks


def _written() -> dict[str, bytes]:
    tone = 20000 * np.sin(np.arange(4000) * 0.3)
    return {
        "nmnist": encode_40bit(_written_events(800, 34, 0)),
        "aedat": encode_aedat31(_written_events(3000, 128, 1), packet_events=256),
        "wav": _wav(tone),
    }


def _real(shared_data: Path) -> dict[str, bytes]:
    events = read_40bit_events(shared_data / "dvs-gesture" / "slayer_bs2_1450ms" / "1.bs2")[:3000]
    return {
        "nmnist": (shared_data / "nmnist" / "NMNISTsmall" / "7.bs2").read_bytes(),
        "aedat": encode_aedat31(events, packet_events=256),
        "wav": (shared_data / "fsdd" / "recordings" / "5_lucas_12.wav").read_bytes(),
    }


@pytest.fixture(scope="module", params=["written", "real"])
def originals(request):
    """Undamaged inputs: written by the test, or real (an N-MNIST file, DVS events as AEDAT, an FSDD recording)."""
    return _written() if request.param == "written" else _real(request.getfixturevalue("shared_data"))


def _survives(parse, name: str, accepted) -> None:
    """``parse()`` raises DataFormatError naming ``name``, or returns a result ``accepted`` approves; in < 1.5 s."""
    start = time.perf_counter()
    try:
        result = parse()
    except DataFormatError as exc:
        assert name in str(exc)
    else:
        accepted(result)
    assert time.perf_counter() - start < SECONDS


def _events_held(events: np.ndarray, event_bytes: int, available: int, sensor: int) -> None:
    """Accepted events: at least one, no more than the bytes hold, on the sensor, times not going back."""
    assert 1 <= len(events) <= available // event_bytes
    assert events["x"].max() < sensor and events["y"].max() < sensor and set(np.unique(events["p"])) <= {0, 1}
    assert np.all(np.diff(events["t"]) >= 0)


@FUZZ
@given(**DAMAGE)
def test_40bit_reader(originals, cut, flips):
    data = _damage(originals["nmnist"], cut, flips)
    _survives(lambda: decode_40bit(data, "7.bs2", (34, 34)), "7.bs2", lambda ev: _events_held(ev, 5, len(data), 34))


@FUZZ
@given(**DAMAGE)
def test_aedat_reader(originals, cut, flips):
    data = _damage(originals["aedat"], cut, flips)
    _survives(lambda: decode_aedat31(data, "trial.aedat"), "trial.aedat",
              lambda ev: _events_held(ev, 8, len(data), 128))


@FUZZ
@given(**DAMAGE)
def test_aedat_header_fields(originals, cut, flips):
    # Aim the corruption at the first packet header, where lengths and counts live.
    original = originals["aedat"]
    start = original.index(END_HEADER) + len(END_HEADER)
    flips = [(start + position % 28, value) for position, value in flips]
    data = _damage(original, len(original) if cut % 2 else cut, flips)
    _survives(lambda: decode_aedat31(data, "trial.aedat"), "trial.aedat",
              lambda ev: _events_held(ev, 8, len(data), 128))


def _audio_held(audio, file_bytes: int) -> None:
    """Accepted audio: at least one sample, no more than the file holds at one byte each, finite, a rate."""
    assert 1 <= len(audio.samples) <= file_bytes and np.isfinite(audio.samples).all() and audio.sample_rate >= 1


@FUZZ
@given(**DAMAGE)
def test_wav_reader(originals, tmp_path, cut, flips):
    path = tmp_path / "fuzz.wav"
    path.write_bytes(_damage(originals["wav"], cut, [(p % 64, v) for p, v in flips[:3]] + flips[3:]))
    _survives(lambda: read_wav(path), "fuzz.wav", lambda audio: _audio_held(audio, path.stat().st_size))


def _rows_held(rows, text: bytes) -> None:
    assert 1 <= len(rows) <= text.count(b"\n") + 1


@FUZZ
@given(**DAMAGE)
def test_label_csv_reader(tmp_path, cut, flips):
    path = tmp_path / "fuzz_labels.csv"
    path.write_bytes(_damage(CSV_BYTES, cut, flips))

    def accepted(rows: np.ndarray) -> None:
        _rows_held(rows, path.read_bytes())
        assert np.all((rows["label"] >= 0) & (rows["label"] <= 10)) and np.all(rows["start"] < rows["stop"])
        assert np.all(rows["start"] >= 0)

    _survives(lambda: read_gesture_labels(path), "fuzz_labels.csv", accepted)


@FUZZ
@given(**DAMAGE)
def test_sample_list_reader(tmp_path, cut, flips):
    path = tmp_path / "train1K.txt"
    path.write_bytes(_damage(LIST_BYTES, cut, flips))

    def accepted(samples: list[tuple[int, int]]) -> None:
        _rows_held(samples, path.read_bytes())
        assert all(0 <= label <= 9 and sample_id >= 0 for sample_id, label in samples)

    _survives(lambda: read_sample_list(path), "train1K.txt", accepted)


@FUZZ
@given(**DAMAGE)
def test_trial_list_reader(tmp_path, cut, flips):
    path = tmp_path / "trials_to_train.txt"
    path.write_bytes(_damage(TRIALS_BYTES, cut, flips))

    def accepted(names: list[str]) -> None:
        assert names and all(name.endswith(".aedat") for name in names)

    _survives(lambda: read_trial_list(path), "trials_to_train.txt", accepted)


# Targeted cases from issue 18: each must be refused with a typed error naming the file.
TARGETED = {
    "empty 40-bit file": ("1.bs2", b"", read_40bit_events),
    "overflow markers only": ("1.bs2", bytes([0, 240, 0, 0, 0]) * 4, read_40bit_events),
    "AEDAT header only": ("t.aedat", b"#!AER-DAT3.1\r\n" + END_HEADER, lambda p: decode_aedat31(p.read_bytes(), p)),
    "empty N-MNIST list": ("train1K.txt", b"#sample\t#class\r\n", read_sample_list),
    "N-MNIST label 99": ("train1K.txt", b"1\t5\r\n2\t99\r\n", read_sample_list),
    "N-MNIST label 10": ("test100.txt", b"60001\t10\r\n", read_sample_list),
    "empty gesture labels": ("u_labels.csv", b"", read_gesture_labels),
    "gesture header only": ("u_labels.csv", b"class,startTime_usec,endTime_usec\n", read_gesture_labels),
    "gesture time 10**23": ("u_labels.csv", b"1,0,%d\n" % 10**23, read_gesture_labels),
    "gesture class 12": ("u_labels.csv", b"12,0,10\n", read_gesture_labels),
    "empty trial list": ("trials_to_test.txt", b"\n", read_trial_list),
    "WAV with no frames": ("a.wav", _wav(np.zeros(0)), read_wav),
    "WAV data chunk past the end": ("a.wav", _wav(np.zeros(100))[:-50], read_wav),
}


@pytest.mark.parametrize("case", sorted(TARGETED))
def test_targeted_inputs_are_refused(tmp_path, case):
    name, data, read = TARGETED[case]
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(DataFormatError) as info:
        read(path)
    assert name in str(info.value)


def test_undamaged_inputs_parse(originals, tmp_path):
    assert len(decode_40bit(originals["nmnist"], "7.bs2", (34, 34))) == len(originals["nmnist"]) // 5
    assert len(decode_aedat31(originals["aedat"], "trial.aedat")) == 3000
    (tmp_path / "a.wav").write_bytes(originals["wav"])
    assert np.isfinite(read_wav(tmp_path / "a.wav").samples).all()
    for name, data, read, count in (("labels.csv", CSV_BYTES, read_gesture_labels, 3),
                                    ("list.txt", LIST_BYTES, read_sample_list, 39),
                                    ("trials.txt", TRIALS_BYTES, read_trial_list, 3)):
        (tmp_path / name).write_bytes(data)
        assert len(read(tmp_path / name)) == count
