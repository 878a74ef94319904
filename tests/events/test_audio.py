"""WAV reader, mel send-on-delta encoder, FSDD (all staged recordings) and a TIDIGITS-layout folder."""

import struct
import wave

import numpy as np
import pytest
import torch

from spikegrad.data.audio import Audio, MelSpikeEncoder, fsdd, read_wav, tidigits
from spikegrad.errors import ConfigError, DataFormatError, DataNotFoundError


def _write_wav(path, samples, rate=8000, width=2, channels=1):
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(width)
        out.setframerate(rate)
        out.writeframes(samples)


def _tone(seconds=0.3, rate=8000, hz=440.0):
    t = np.arange(int(seconds * rate)) / rate
    return (0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


@pytest.fixture(scope="module")
def recordings(shared_data):
    return shared_data / "fsdd" / "recordings"


def test_every_fsdd_recording(recordings):
    train, test = fsdd(recordings.parent, "train"), fsdd(recordings.parent, "test")
    assert (len(train), len(test)) == (2250, 250)
    assert np.bincount(test.labels).tolist() == [25] * 10
    assert all(int(f.name.split("_")[2][:-4]) < 5 for f in test.files)
    durations = []
    for dataset in (train, test):
        for path, label in zip(dataset.files, dataset.labels):
            audio = read_wav(path)
            assert audio.sample_rate == 8000 and audio.samples.dtype == np.float32
            assert label == int(path.name[0]) and -1.0 <= audio.samples.min() and audio.samples.max() < 1.0
            durations.append(len(audio.samples) / 8000)
    assert 0.14 <= min(durations) and max(durations) <= 2.29


@pytest.mark.parametrize(("width", "scale", "dtype"), [(1, 128, np.uint8), (2, 32768, "<i2"), (4, 2**31, "<i4")])
def test_pcm_widths_and_stereo(tmp_path, width, scale, dtype):
    tone = _tone()
    ints = np.round(tone * (scale - 1)).astype(np.int64)
    raw = (ints + 128).astype(np.uint8) if width == 1 else ints.astype(dtype)
    _write_wav(tmp_path / "mono.wav", raw.tobytes(), width=width)
    np.testing.assert_allclose(read_wav(tmp_path / "mono.wav").samples, tone, atol=2.0 / scale)
    stereo = np.stack([raw, raw], axis=1)
    _write_wav(tmp_path / "stereo.wav", stereo.tobytes(), width=width, channels=2)
    np.testing.assert_allclose(read_wav(tmp_path / "stereo.wav").samples, tone, atol=2.0 / scale)


def test_24_bit(tmp_path):
    values = np.array([0, 1, -1, 2**23 - 1, -(2**23)], dtype=np.int64)
    packed = np.stack([values & 0xFF, (values >> 8) & 0xFF, (values >> 16) & 0xFF], axis=1).astype(np.uint8)
    _write_wav(tmp_path / "deep.wav", packed.tobytes(), width=3)
    np.testing.assert_allclose(read_wav(tmp_path / "deep.wav").samples, values / 2**23)


def test_bad_files(tmp_path):
    sphere = tmp_path / "1a.wav"
    sphere.write_bytes(b"NIST_1A\n   1024\n" + bytes(100))
    with pytest.raises(DataFormatError, match="sph2pipe"):
        read_wav(sphere)
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFX" + bytes(40))
    with pytest.raises(DataFormatError, match="RIFF") as info:
        read_wav(junk)
    assert info.value.offset == 0
    _write_wav(tmp_path / "good.wav", (_tone() * 30000).astype("<i2").tobytes())
    good = (tmp_path / "good.wav").read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(good[:1001])
    with pytest.raises(DataFormatError, match="truncated") as info:
        read_wav(cut)
    assert info.value.offset == 1001 and "cut.wav" in str(info.value)
    half_float = tmp_path / "float16.wav"
    half_float.write_bytes(good[:20] + (3).to_bytes(2, "little") + good[22:])  # IEEE float of 16 bits: no such thing
    with pytest.raises(DataFormatError, match="unsupported.*16-bit floating-point"):
        read_wav(half_float)


# --- scipy.io.wavfile: float and extensible files (issue 19) ---------------------------------------

_GUID_TAIL = b"\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"  # KSDATAFORMAT_SUBTYPE_* after the tag


def _fmt(tag: int, channels: int, rate: int, bits: int, extensible_tag: int | None = None) -> bytes:
    """A ``fmt `` chunk body; with ``extensible_tag`` a 40-byte WAVE_FORMAT_EXTENSIBLE one."""
    block = channels * ((bits + 7) // 8)
    body = struct.pack("<HHIIHH", tag, channels, rate, rate * block, block, bits)
    if extensible_tag is not None:
        body += struct.pack("<HHI", 22, bits, (1 << channels) - 1) + struct.pack("<I", extensible_tag) + _GUID_TAIL
    return body


def _riff(fmt: bytes, data: bytes, declared: int | None = None, extra: bytes = b"") -> bytes:
    """RIFF/WAVE bytes: ``fmt `` chunk, optional extra chunks, then ``data`` (its size field may lie)."""
    size = len(data) if declared is None else declared
    chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt + extra + b"data" + struct.pack("<I", size) + data
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks


@pytest.mark.parametrize("dtype", ["<f4", "<f8"])
@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("extensible", [False, True])
def test_ieee_float(tmp_path, dtype, channels, extensible):
    tone = _tone().astype(dtype)
    frames = np.stack([tone, -tone if channels == 2 else tone], axis=1)[:, :channels]
    bits = 8 * np.dtype(dtype).itemsize
    fmt = _fmt(0xFFFE, channels, 8000, bits, 3) if extensible else _fmt(3, channels, 8000, bits)
    path = tmp_path / "float.wav"
    path.write_bytes(_riff(fmt, frames.tobytes()))
    audio = read_wav(path)
    expected = frames.astype(np.float32).mean(axis=1, dtype=np.float32)
    assert audio.sample_rate == 8000 and audio.samples.dtype == np.float32
    np.testing.assert_array_equal(audio.samples, expected)


@pytest.mark.parametrize(("bits", "scale"), [(16, 2**15), (24, 2**23), (32, 2**31)])
def test_extensible_pcm(tmp_path, bits, scale):
    values = np.array([0, 1, -1, scale - 1, -scale, scale // 2], dtype=np.int64)
    packed = np.stack([(values >> (8 * k)) & 0xFF for k in range(bits // 8)], axis=1).astype(np.uint8)
    path = tmp_path / "ext.wav"
    path.write_bytes(_riff(_fmt(0xFFFE, 1, 16000, bits, 1), packed.tobytes()))
    audio = read_wav(path)
    assert audio.sample_rate == 16000
    np.testing.assert_array_equal(audio.samples, (values / scale).astype(np.float32))


def test_unknown_chunks_are_skipped(tmp_path):
    ints = (_tone() * 30000).astype("<i2")
    path = tmp_path / "chunks.wav"
    path.write_bytes(_riff(_fmt(1, 1, 8000, 16), ints.tobytes(), extra=b"LIST\x04\x00\x00\x00INFObext\x01\x00\x00\x00x\x00"))
    np.testing.assert_array_equal(read_wav(path).samples, (ints / 32768).astype(np.float32))


@pytest.mark.parametrize(
    ("data", "fmt", "declared", "match"),
    [
        (np.array([0.5, np.nan], "<f4").tobytes(), _fmt(3, 1, 8000, 32), None, "WAV sample 1 is nan, expected a finite"),
        (np.array([np.inf], "<f8").tobytes(), _fmt(3, 1, 8000, 64), None, "sample 0 is inf"),
        (b"", _fmt(1, 1, 8000, 16), None, "unusable WAV: 1 channels, 0 frames"),
        (bytes(8), _fmt(1, 1, 0, 16), None, "0 Hz"),
        (bytes(100), _fmt(1, 1, 8000, 16), 10_000, "truncated WAV: the data chunk declares 10000 bytes"),
        (bytes(100), _fmt(6, 1, 8000, 8), None, "unsupported WAV.*ALAW"),  # A-law: compressed
        (bytes(100), _fmt(0xFFFE, 1, 8000, 16, 0x55), None, "unsupported WAV"),  # extensible MP3
    ],
)
def test_unusable_files(tmp_path, data, fmt, declared, match):
    path = tmp_path / "bad.wav"
    path.write_bytes(_riff(fmt, data, declared))
    with pytest.raises(DataFormatError, match=match) as info:
        read_wav(path)
    assert "bad.wav" in str(info.value)


def test_no_data_chunk(tmp_path):
    path = tmp_path / "bad.wav"
    body = b"fmt " + struct.pack("<I", 16) + _fmt(1, 1, 8000, 16)
    path.write_bytes(b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WAVE" + body)
    with pytest.raises(DataFormatError, match="no 'data' chunk") as info:
        read_wav(path)
    assert info.value.offset == path.stat().st_size


def _decoded_with_wave(path) -> tuple[np.ndarray, int]:
    """An independent decoder of integer PCM (the standard library's ``wave``), scaled as the reader promises."""
    with wave.open(str(path)) as reader:
        width, channels, rate = reader.getsampwidth(), reader.getnchannels(), reader.getframerate()
        raw = reader.readframes(reader.getnframes())
    if width == 1:
        values = np.frombuffer(raw, np.uint8).astype(np.float64) - 128.0
    elif width == 3:
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int64)
        values = (b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)).astype(np.float64)
        values[values >= 2**23] -= 2**24
    else:
        values = np.frombuffer(raw, f"<i{width}").astype(np.float64)
    scaled = (values / 2.0 ** (8 * width - 1)).astype(np.float32).reshape(-1, channels)
    return scaled.mean(axis=1, dtype=np.float32), rate


@pytest.mark.parametrize("width", [1, 2, 3, 4])
@pytest.mark.parametrize("channels", [1, 2])
def test_pcm_matches_the_standard_library(tmp_path, width, channels):
    rng = np.random.default_rng(width)
    raw = rng.integers(0, 256, 999 * width * channels, dtype=np.uint8).tobytes()
    _write_wav(tmp_path / "noise.wav", raw, rate=11025, width=width, channels=channels)
    audio, (expected, rate) = read_wav(tmp_path / "noise.wav"), _decoded_with_wave(tmp_path / "noise.wav")
    assert audio.sample_rate == rate and np.array_equal(audio.samples, expected)


def test_fsdd_recordings_match_the_standard_library(recordings):
    names = ["0_george_0.wav", "1_jackson_17.wav", "3_theo_7.wav", "5_lucas_12.wav", "7_nicolas_49.wav",
             "9_george_33.wav"]
    for name in names:
        audio, (expected, rate) = read_wav(recordings / name), _decoded_with_wave(recordings / name)
        assert audio.sample_rate == rate == 8000 and np.array_equal(audio.samples, expected), name


def test_fsdd_folder_written_by_the_test(tmp_path):
    tone = (_tone() * 30000).astype("<i2").tobytes()
    (tmp_path / "recordings").mkdir()
    for digit, speaker, index in ((3, "ann", 0), (3, "ann", 5), (7, "bob", 4), (1, "bob", 49)):
        _write_wav(tmp_path / "recordings" / f"{digit}_{speaker}_{index}.wav", tone)
    train, test = fsdd(tmp_path, "train"), fsdd(tmp_path, "test")
    assert sorted(train.labels) == [1, 3] and sorted(test.labels) == [3, 7]
    audio, label = test[0]
    assert label == 3 and audio.sample_rate == 8000 and len(audio.samples) == 2400
    with pytest.raises(DataNotFoundError, match="no FSDD train recordings"):
        fsdd(tmp_path / "recordings" / "none", "train")


def test_fsdd_leave_one_speaker_out(tmp_path):
    tone = (_tone() * 30000).astype("<i2").tobytes()
    (tmp_path / "recordings").mkdir()
    for digit, speaker, index in ((3, "ann", 0), (3, "ann", 5), (7, "bob", 4), (1, "bob", 49), (2, "cy", 9)):
        _write_wav(tmp_path / "recordings" / f"{digit}_{speaker}_{index}.wav", tone)
    train, test = fsdd(tmp_path, "train", held_out_speaker="bob"), fsdd(tmp_path, "test", held_out_speaker="bob")
    assert sorted(p.name for p in test.files) == ["1_bob_49.wav", "7_bob_4.wav"]  # every recording of bob
    assert sorted(p.name for p in train.files) == ["2_cy_9.wav", "3_ann_0.wav", "3_ann_5.wav"]  # nobody else's
    with pytest.raises(ConfigError, match=r"held_out_speaker.*'dan'.*\['ann', 'bob', 'cy'\]"):
        fsdd(tmp_path, "test", held_out_speaker="dan")


def test_encoder_on_a_real_recording(recordings):
    audio = read_wav(recordings / "3_theo_7.wav")
    encoder = MelSpikeEncoder(n_mels=20, delta_db=4.0)
    spikes = encoder(audio)
    frames = 1 + (len(audio.samples) - encoder.window) // encoder.hop
    assert spikes.shape == (frames, 2, 20) and set(spikes.unique().tolist()) == {0.0, 1.0}
    on, off = spikes[:, 0].sum().item(), spikes[:, 1].sum().item()
    assert on > 50 and off > 50
    assert torch.equal(spikes, encoder(audio))
    assert encoder.filterbank.shape == (20, 129) and (encoder.filterbank.sum(1) > 0).all()


def test_send_on_delta_counts_level_crossings():
    # A rising tone from silence: every band that rises gets ON spikes at onset, OFF at the end.
    encoder = MelSpikeEncoder(n_mels=8, delta_db=6.0, range_db=60.0)
    samples = np.concatenate([np.zeros(800, np.float32), _tone(0.2, hz=1000.0), np.zeros(800, np.float32)])
    spikes = encoder(Audio(samples, 8000))
    level = encoder.log_mel(Audio(samples, 8000))
    band = int(level.max(0).argmax())
    onset = int(spikes[:, 0, band].nonzero()[0])
    assert 75 <= onset <= 105  # the tone starts at 100 ms, the 25 ms window sees it from ~75 ms
    assert spikes[:, 1, band].sum() >= 1 and spikes[:onset, 1, band].sum() == 0


def test_fixed_length_and_rate_check():
    encoder = MelSpikeEncoder(sample_ms=50.0)
    assert encoder(Audio(_tone(0.3), 8000)).shape == (50, 2, 32)
    assert encoder(Audio(_tone(0.01), 8000)).shape == (50, 2, 32)
    with pytest.raises(ConfigError, match="sample_rate"):
        encoder(Audio(_tone(), 16000))
    with pytest.raises(ConfigError, match="f_max"):
        MelSpikeEncoder(f_max=9000.0)


def test_tidigits_layout(tmp_path):
    tone = (_tone() * 30000).astype("<i2").tobytes()
    for split in ("train", "test"):
        speaker = tmp_path / split / "man" / "ae"
        speaker.mkdir(parents=True)
        for stem in ("1a", "zb", "oa", "9b", "123a"):
            _write_wav(speaker / f"{stem}.wav", tone)
    dataset = tidigits(tmp_path, "test")
    assert sorted(dataset.labels) == [0, 1, 9, 10]  # z -> 0, o ("oh") -> 10; multi-digit 123a skipped
    audio, _ = dataset[0]
    assert audio.sample_rate == 8000
    with pytest.raises(DataNotFoundError):
        tidigits(tmp_path / "nothing", "train")


def test_fsdd_names_are_checked(tmp_path):
    _write_wav(tmp_path / "seven.wav", bytes(100))
    with pytest.raises(DataFormatError, match="digit"):
        fsdd(tmp_path, "train")
