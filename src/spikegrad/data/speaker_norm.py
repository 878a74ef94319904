r"""Speaker-level band normalisation of mel levels (speaker-adaptive mean and variance normalisation).

A speaker's voice, microphone and room shift and scale every band's level. Each band's level
:math:`\ell_{t,m}` (dB below the recording's peak, as :meth:`~spikegrad.data.audio.MelSpikeEncoder.log_mel`
gives it) of a recording by speaker :math:`s` is mapped onto the statistics pooled over all speakers,

.. math::
    \ell'_{t,m} = \max\Big(\mu_m + \sigma_m\,\frac{\ell_{t,m} - \mu_{s,m}}{\sigma_{s,m}},\ -\text{range\_db}\Big),

so the encoder's ``delta_db`` and ``range_db`` keep their meaning (dB of the pooled, average speaker).
:math:`\mu_{s,m}, \sigma_{s,m}` are the mean and standard deviation (dB) of band :math:`m` over the speech
frames of every recording of :math:`s`; :math:`\mu_m, \sigma_m` the same over every speaker's speech frames.
A speech frame is one whose loudest band lies within :data:`SPEECH_DB` of the recording's peak (the
silence around a word would otherwise weigh in with the floor). The statistics are taken at a hop of
:data:`STATS_HOP_MS` (the encoder's frames may be 1 ms apart: the same distribution for a tenth of the work).

**What the test then is.** The statistics use no labels. A held-out speaker's come from its own unlabelled
recordings, as speaker-adaptive normalisation in speech recognition does: the network never trains on
the speaker's words or labels, but the front end is adapted to the speaker's audio before testing.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from spikegrad.data.audio import Audio, MelSpikeEncoder, fsdd_recording, fsdd_recordings, read_wav
from spikegrad.errors import ConfigError

SPEECH_DB = 40.0
STATS_HOP_MS = 10.0


class BandStatistics(NamedTuple):
    """Mean and standard deviation (dB) of each band ``[n_mels]`` over speech frames, and the frame count."""

    mean: np.ndarray
    std: np.ndarray
    frames: int


def speech_frames(level: np.ndarray) -> np.ndarray:
    """The frames ``[frames, n_mels]`` of ``level`` (dB below the peak) whose loudest band is within
    :data:`SPEECH_DB` of the peak."""
    return level[level.max(axis=1) > -SPEECH_DB]


def band_statistics(levels: list[np.ndarray]) -> BandStatistics:
    """Statistics of the speech frames of ``levels`` (each ``[frames, n_mels]``) taken together.

    Raises:
        ConfigError: no speech frames, or a band that never varies (its level cannot be standardised).
    """
    frames = np.concatenate([speech_frames(level) for level in levels])
    if len(frames) < 2:
        raise ConfigError("speaker_norm", f"needs at least 2 speech frames per speaker, got {len(frames)}")
    mean, std = frames.mean(axis=0), frames.std(axis=0)
    if not (std > 0).all():
        flat = np.flatnonzero(std == 0).tolist()
        raise ConfigError("speaker_norm", f"mel bands {flat} have the same level in every speech frame")
    return BandStatistics(mean, std, len(frames))


@dataclasses.dataclass(frozen=True)
class SpeakerNormalisation:
    """Per-speaker and pooled :class:`BandStatistics` (module docstring), keyed by speaker name."""

    speakers: dict[str, BandStatistics]
    pooled: BandStatistics

    @classmethod
    def of_fsdd(cls, root: str | Path, encoder: MelSpikeEncoder) -> SpeakerNormalisation:
        """Statistics of every FSDD recording under ``root`` (all splits, all speakers), with ``encoder``'s
        bands at a hop of :data:`STATS_HOP_MS`."""
        coarse = dataclasses.replace(encoder, ts=max(encoder.ts, STATS_HOP_MS), sample_ms=None)
        levels: dict[str, list[np.ndarray]] = {}
        for recording in fsdd_recordings(root)[1]:
            levels.setdefault(recording.speaker, []).append(coarse.log_mel(read_wav(recording.path)))
        speakers = {speaker: band_statistics(speaker_levels) for speaker, speaker_levels in levels.items()}
        return cls(speakers, band_statistics([level for speaker_levels in levels.values() for level in speaker_levels]))

    def apply(self, level: np.ndarray, speaker: str, range_db: float) -> np.ndarray:
        """``level`` ``[frames, n_mels]`` of a recording by ``speaker`` mapped onto the pooled statistics.

        Raises:
            ConfigError: a speaker without statistics.
        """
        if speaker not in self.speakers:
            raise ConfigError("speaker_norm", f"no statistics for speaker {speaker!r}; have {sorted(self.speakers)}")
        own = self.speakers[speaker]
        mapped = self.pooled.mean + self.pooled.std * (level - own.mean) / own.std
        return np.maximum(mapped, -range_db)


class SpeakerAudio(NamedTuple):
    """A recording and the name of its speaker."""

    audio: Audio
    speaker: str


def read_fsdd_recording(path: Path) -> SpeakerAudio:
    """Read an FSDD WAV (:func:`~spikegrad.data.audio.read_wav`) with the speaker named in its file name."""
    return SpeakerAudio(read_wav(path), fsdd_recording(path).speaker)


@dataclasses.dataclass(frozen=True)
class SpeakerNormalisedEncoder:
    """A :class:`~spikegrad.data.audio.MelSpikeEncoder` whose band levels are normalised by the recording's
    speaker before send-on-delta coding: ``SpeakerAudio -> [T, 2, n_mels]`` spikes."""

    encoder: MelSpikeEncoder
    normalisation: SpeakerNormalisation

    def __call__(self, item: SpeakerAudio) -> torch.Tensor:
        level = self.normalisation.apply(self.encoder.log_mel(item.audio), item.speaker, self.encoder.range_db)
        return self.encoder.spikes(level)
