r"""Spoken digits: a checked WAV reader (on ``scipy.io.wavfile``), a mel-filterbank send-on-delta spike
encoder, FSDD and TIDIGITS.

**Encoding** (:class:`MelSpikeEncoder`). Frames of ``window_ms`` every ``ts`` ms (one frame per time bin)
give a power spectrum; ``n_mels`` triangular filters on the HTK mel scale
(:math:`m = 2595 \log_{10}(1 + f/700)`) between ``f_min`` and ``f_max`` give band energies in dB relative to
the utterance's loudest band and frame, floored at ``-range_db``. Each band is then send-on-delta coded
(like a silicon cochlea's ON/OFF channels): a reference level starts at the floor; whenever the band has
risen ``delta_db`` above it an ON spike is sent and the reference steps up by ``delta_db`` (as often as
needed), and falling by ``delta_db`` sends OFF spikes. Output ``[T, 2, n_mels]`` 0/1 (channel 0 ON,
1 OFF; several crossings in one bin make one spike).

**Datasets** (:class:`~spikegrad.data.events.FileDataset`, items ``(transform(Audio), label)``):

- :func:`fsdd`: Free Spoken Digit Dataset, ``{digit}_{speaker}_{index}.wav``; label = the digit (first
  field); index 0-4 is the official test split, 5-49 train.
- :func:`tidigits`: TIDIGITS isolated digits converted to RIFF WAV, laid out as the LDC release
  (``<root>/{train,test}/<group>/<speaker>/<d><r>.wav``, ``d`` in ``1-9``, ``z`` (zero), ``o`` (oh), ``r`` in
  ``a``/``b``); labels 0-9 and 10 for "oh" (11 classes). Multi-digit utterances are not part of the
  isolated-digit task and are skipped. The LDC files are NIST SPHERE; convert them first
  (``sph2pipe -f wav``).
"""

from __future__ import annotations

import dataclasses
import functools
import io
import math
import os
import re
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import scipy.io.wavfile
import torch

from spikegrad.data.events import FileDataset
from spikegrad.data.fileio import read_file_bytes
from spikegrad.errors import ConfigError, DataFormatError, DataNotFoundError

if TYPE_CHECKING:
    from spikegrad.data.speaker_norm import SpeakerNormalisation

SPHERE_MAGIC = b"NIST_1A"
FSDD_NAME = re.compile(r"^(\d)_([A-Za-z]+)_(\d+)$")
FSDD_TEST_INDICES = range(0, 5)
TIDIGITS_NAME = re.compile(r"^([1-9zo])([ab])$", re.IGNORECASE)
TIDIGITS_LABELS = {**{str(d): d for d in range(1, 10)}, "z": 0, "o": 10}
SPLITS = ("train", "test")


class Audio(NamedTuple):
    """Mono float32 samples and their rate in Hz: integer PCM scaled to [-1, 1), float WAVs as stored."""

    samples: np.ndarray
    sample_rate: int


def _data_chunk(path: str | os.PathLike, raw: bytes) -> tuple[int, int]:
    """``(offset, declared size)`` of the ``data`` chunk, walking the RIFF chunks after ``WAVE``.

    Checked here rather than left to scipy, which reads a data chunk cut short without complaint.

    Raises:
        DataFormatError: no ``data`` chunk, or one that runs past the end of the file (truncated; the
            offset is the end of the file).
    """
    position = 12
    while position + 8 <= len(raw):
        kind, size = raw[position : position + 4], int.from_bytes(raw[position + 4 : position + 8], "little")
        if kind == b"data":
            if position + 8 + size > len(raw):
                raise DataFormatError(
                    path, f"truncated WAV: the data chunk declares {size} bytes from byte {position + 8}, "
                    f"the file ends after {len(raw) - position - 8}", offset=len(raw),
                )
            return position + 8, size
        position += 8 + size + (size & 1)  # chunks are padded to an even size
    raise DataFormatError(path, "no 'data' chunk in the WAV file (truncated or corrupt)", offset=len(raw))


def _to_float(path: str | os.PathLike, data: np.ndarray) -> np.ndarray:
    """scipy's samples ``[frames, channels]`` to float32: integers scaled to [-1, 1), floats as stored.

    scipy returns 8-bit PCM as uint8 (offset 128) and other widths as signed integers of the next
    numpy size, left-justified (24-bit in int32), so dividing by the container's full scale is exact.
    """
    if data.dtype == np.uint8:
        return ((data.astype(np.float32) - 128.0) / 128.0).astype(np.float32)
    if data.dtype.kind == "i":
        return (data / float(1 << (8 * data.dtype.itemsize - 1))).astype(np.float32)
    if data.dtype.kind == "f":
        bad = np.flatnonzero(~np.isfinite(data.reshape(-1)))
        if bad.size:
            raise DataFormatError(path, f"WAV sample {bad[0]} is {data.reshape(-1)[bad[0]]}, expected a finite value")
        return data.astype(np.float32)
    raise DataFormatError(path, f"unsupported WAV sample type {data.dtype}")


def read_wav(path: str | os.PathLike) -> Audio:
    """Read an uncompressed RIFF/WAVE file with ``scipy.io.wavfile``; several channels are averaged.

    Accepted: integer PCM of 8 to 64 bits (format 1), IEEE float of 32 or 64 bits (format 3), and
    WAVE_FORMAT_EXTENSIBLE files holding either. Integer samples are scaled to [-1, 1); float samples
    are returned as stored (nominally in [-1, 1]) and must be finite.

    Raises:
        DataNotFoundError: the file does not exist.
        DataFormatError: not a regular file; not RIFF/WAVE (a NIST SPHERE file gets a conversion hint);
            a data chunk longer than the file (truncated; offset: the end of the file) or missing;
            a corrupt header or a compressed format (scipy's reason is quoted); no samples; a rate of 0;
            or a non-finite float sample.
    """
    raw = read_file_bytes(path, "WAV file")
    if raw.startswith(SPHERE_MAGIC):
        hint = "convert it to WAV, e.g. `sph2pipe -f wav`"
        raise DataFormatError(path, f"NIST SPHERE audio (the LDC TIDIGITS format); {hint}", offset=0)
    if raw[:4] != b"RIFF" or raw[8:12] != b"WAVE":
        raise DataFormatError(path, "not a RIFF/WAVE file (expected 'RIFF' at byte 0 and 'WAVE' at byte 8)", offset=0)
    _, size = _data_chunk(path, raw)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", scipy.io.wavfile.WavFileWarning)  # unknown chunks are skipped
            rate, data = scipy.io.wavfile.read(io.BytesIO(raw))
    except Exception as exc:  # scipy raises ValueError, struct.error, UnboundLocalError... on malformed headers
        raise DataFormatError(path, f"corrupt or unsupported WAV ({type(exc).__name__}: {exc})") from exc
    data = data[:, None] if data.ndim == 1 else data  # scipy gives mono as [frames], others as [frames, channels]
    if rate < 1 or data.size == 0:
        detail = f"{data.shape[1]} channels, {len(data)} frames ({size}-byte data chunk), {rate} Hz"
        raise DataFormatError(path, f"unusable WAV: {detail}; expected at least one frame and a rate > 0")
    return Audio(_to_float(path, data).mean(axis=1, dtype=np.float32), rate)


def _hz_to_mel(f: np.ndarray) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + f / 700.0)


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    return 700.0 * (10.0 ** (m / 2595.0) - 1.0)


@dataclasses.dataclass(frozen=True)
class MelSpikeEncoder:
    """Audio -> ON/OFF spikes ``[T, 2, n_mels]`` (module docstring); a dataset transform.

    Attributes:
        sample_rate: expected rate in Hz (a file at another rate is an error).
        n_mels: number of mel bands.
        ts: frame hop and time bin ``Ts`` in ms.
        window_ms: analysis window (Hann) in ms.
        f_min, f_max: band edges in Hz (``f_max`` None: ``sample_rate / 2``).
        delta_db: send-on-delta step in dB.
        range_db: dynamic range kept below the utterance's peak, in dB.
        sample_ms: fixed sample length in ms (cut or zero-padded); None keeps every frame.
    """

    sample_rate: int = 8000
    n_mels: int = 32
    ts: float = 1.0
    window_ms: float = 25.0
    f_min: float = 50.0
    f_max: float | None = None
    delta_db: float = 3.0
    range_db: float = 60.0
    sample_ms: float | None = None

    def __post_init__(self) -> None:
        for option in ("sample_rate", "n_mels", "ts", "window_ms", "delta_db", "range_db"):
            value = getattr(self, option)
            if not (math.isfinite(value) and value > 0):
                raise ConfigError(option, f"must be a finite number > 0, got {value!r}")
        if not 0 <= self.f_min < self.top_hz <= self.sample_rate / 2:
            raise ConfigError("f_max", f"need 0 <= f_min < f_max <= sample_rate/2, got {self.f_min}, {self.top_hz}")
        if self.hop < 1 or self.window < 2:
            frames = f"{self.ts} ms hop / {self.window_ms} ms window"
            raise ConfigError("ts", f"{frames} is under one sample at {self.sample_rate} Hz")
        if self.sample_ms is not None and not self.sample_ms >= self.ts:
            raise ConfigError("sample_ms", f"must be >= Ts = {self.ts} ms or None, got {self.sample_ms!r}")

    @property
    def top_hz(self) -> float:
        return self.sample_rate / 2 if self.f_max is None else self.f_max

    @property
    def hop(self) -> int:
        """Frame hop in samples."""
        return int(round(self.sample_rate * self.ts / 1000.0))

    @property
    def window(self) -> int:
        """Window length in samples."""
        return int(round(self.sample_rate * self.window_ms / 1000.0))

    @functools.cached_property
    def filterbank(self) -> np.ndarray:
        """Triangular mel filters ``[n_mels, n_fft // 2 + 1]``."""
        n_fft = 1 << (self.window - 1).bit_length()
        freqs = np.fft.rfftfreq(n_fft, 1.0 / self.sample_rate)
        low, high = _hz_to_mel(np.float64(self.f_min)), _hz_to_mel(np.float64(self.top_hz))
        edges = _mel_to_hz(np.linspace(low, high, self.n_mels + 2))
        lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
        rising = (freqs - lower) / (centre - lower)
        falling = (upper - freqs) / (upper - centre)
        return np.clip(np.minimum(rising, falling), 0.0, None)

    def log_mel(self, audio: Audio) -> np.ndarray:
        """Band energies ``[frames, n_mels]`` in dB below the utterance's peak, floored at ``-range_db``."""
        if audio.sample_rate != self.sample_rate:
            got = f"got {audio.sample_rate} Hz"
            raise ConfigError("sample_rate", f"the encoder expects {self.sample_rate} Hz audio, {got}")
        samples = np.pad(audio.samples.astype(np.float64), (0, max(0, self.window - len(audio.samples))))
        count = 1 + (len(samples) - self.window) // self.hop
        index = self.hop * np.arange(count)[:, None] + np.arange(self.window)[None, :]
        n_fft = 2 * (self.filterbank.shape[1] - 1)
        power = np.abs(np.fft.rfft(samples[index] * np.hanning(self.window), n=n_fft)) ** 2
        level = 10.0 * np.log10(np.maximum(power @ self.filterbank.T, 1e-20))
        return np.maximum(level - level.max(), -self.range_db)

    def __call__(self, audio: Audio) -> torch.Tensor:
        return self.spikes(self.log_mel(audio))

    def spikes(self, level: np.ndarray) -> torch.Tensor:
        """Send-on-delta ON/OFF spikes ``[T, 2, n_mels]`` of band levels ``[frames, n_mels]`` (dB, floored at
        ``-range_db``), cut or padded to ``sample_ms``."""
        spikes = np.zeros((len(level), 2, self.n_mels), dtype=np.float32)
        reference = np.full(self.n_mels, -self.range_db)
        for n, frame in enumerate(level):
            steps = np.trunc((frame - reference) / self.delta_db)  # signed whole steps crossed
            spikes[n, 0] = steps > 0
            spikes[n, 1] = steps < 0
            reference = reference + steps * self.delta_db
        if self.sample_ms is not None:
            steps_out = int(round(self.sample_ms / self.ts))
            spikes = np.pad(spikes[:steps_out], ((0, max(0, steps_out - len(spikes))), (0, 0), (0, 0)))
        return torch.from_numpy(spikes)


def fsdd(root: str | os.PathLike, split: str, transform: Callable[[Audio], Any] | None = None,
         held_out_speaker: str | None = None, normalisation: SpeakerNormalisation | None = None) -> FileDataset:
    """Free Spoken Digit Dataset: ``root`` holds the ``*.wav`` files (or a ``recordings/`` folder of them).

    The official split puts index 0-4 of every digit and speaker in ``test``: the test speakers are the
    training speakers. ``held_out_speaker`` makes the split speaker-independent instead: ``test`` is every
    recording of that speaker, ``train`` every recording of the others (leave-one-speaker-out).
    ``normalisation``: per-speaker band statistics (:mod:`spikegrad.data.speaker_norm`); ``transform`` must
    then be a :class:`MelSpikeEncoder`, whose levels are normalised by the recording's speaker before coding.
    """
    if split not in SPLITS:
        raise ConfigError("split", f"expected one of {SPLITS}, got {split!r}")
    folder, recordings = fsdd_recordings(root)
    speakers = {recording.speaker for recording in recordings}
    if held_out_speaker is not None and held_out_speaker not in speakers:
        raise ConfigError("held_out_speaker", f"no recordings of speaker {held_out_speaker!r} in {folder}; "
                          f"its speakers are {sorted(speakers)}")

    def in_test(recording: FsddRecording) -> bool:
        if held_out_speaker is None:
            return recording.index in FSDD_TEST_INDICES
        return recording.speaker == held_out_speaker

    chosen = [recording for recording in recordings if in_test(recording) == (split == "test")]
    if not chosen:
        raise DataNotFoundError(folder, f"no FSDD {split} recordings ('{{digit}}_{{speaker}}_{{index}}.wav') found")
    files, labels = [recording.path for recording in chosen], [recording.digit for recording in chosen]
    if normalisation is None:
        return FileDataset(files, labels, read_wav, transform)
    from spikegrad.data.speaker_norm import SpeakerNormalisedEncoder, read_fsdd_recording

    if not isinstance(transform, MelSpikeEncoder):
        raise ConfigError("speaker_norm", f"normalises a MelSpikeEncoder's levels; the transform is {transform!r}")
    return FileDataset(files, labels, read_fsdd_recording, SpeakerNormalisedEncoder(transform, normalisation))


class FsddRecording(NamedTuple):
    """One FSDD file and the fields of its name ``{digit}_{speaker}_{index}.wav``."""

    path: Path
    digit: int
    speaker: str
    index: int


def fsdd_recordings(root: str | os.PathLike) -> tuple[Path, list[FsddRecording]]:
    """``(folder, recordings)``: every ``*.wav`` in ``root`` (or its ``recordings/`` folder), sorted by path.

    Raises:
        DataFormatError: a ``.wav`` file whose name is not ``{digit}_{speaker}_{index}.wav``.
    """
    folder = Path(root) / "recordings" if (Path(root) / "recordings").is_dir() else Path(root)
    return folder, [fsdd_recording(path) for path in sorted(folder.glob("*.wav"))]


def fsdd_recording(path: str | os.PathLike) -> FsddRecording:
    """The fields of an FSDD file name.

    Raises:
        DataFormatError: a name that is not ``{digit}_{speaker}_{index}.wav``.
    """
    path = Path(path)
    match = FSDD_NAME.match(path.stem)
    if match is None:
        raise DataFormatError(path, "FSDD file names are '{digit}_{speaker}_{index}.wav'")
    return FsddRecording(path, int(match.group(1)), match.group(2), int(match.group(3)))


def tidigits(root: str | os.PathLike, split: str, transform: Callable[[Audio], Any] | None = None) -> FileDataset:
    """TIDIGITS isolated digits (11 classes; "oh" is 10) from ``<root>/<split>/**/<d><r>.wav``."""
    if split not in SPLITS:
        raise ConfigError("split", f"expected one of {SPLITS}, got {split!r}")
    folder = Path(root) / split
    if not folder.is_dir():
        raise DataNotFoundError(folder, f"TIDIGITS {split} folder not found")
    files, labels = [], []
    for path in sorted(folder.rglob("*.wav")):
        match = TIDIGITS_NAME.match(path.stem)
        if match is not None:
            files.append(path)
            labels.append(TIDIGITS_LABELS[match.group(1).lower()])
    if not files:
        raise DataNotFoundError(folder, "no isolated-digit files ('<digit><a|b>.wav') found")
    return FileDataset(files, labels, read_wav, transform)
