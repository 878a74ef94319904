"""WAV reader, mel send-on-delta encoder, FSDD (all staged recordings) and a TIDIGITS-layout folder."""

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


def test_bad_files(recordings, tmp_path):
    sphere = tmp_path / "1a.wav"
    sphere.write_bytes(b"NIST_1A\n   1024\n" + bytes(100))
    with pytest.raises(DataFormatError, match="sph2pipe"):
        read_wav(sphere)
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFX" + bytes(40))
    with pytest.raises(DataFormatError, match="RIFF") as info:
        read_wav(junk)
    assert info.value.offset == 0
    good = (recordings / "0_george_0.wav").read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(good[:1001])
    with pytest.raises(DataFormatError, match="truncated") as info:
        read_wav(cut)
    assert info.value.offset == 1001 and "cut.wav" in str(info.value)
    float_wav = tmp_path / "float.wav"
    float_wav.write_bytes(good[:20] + (3).to_bytes(2, "little") + good[22:])  # format tag 3: IEEE float
    with pytest.raises(DataFormatError, match="unsupported"):
        read_wav(float_wav)


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
