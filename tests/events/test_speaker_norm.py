"""Speaker-level band normalisation (spikegrad.data.speaker_norm): hand values, the invariant it promises on
written FSDD folders, its errors, and the recipe option that turns it on."""

from __future__ import annotations

import csv
import dataclasses
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.io.wavfile
import torch

from spikegrad.data.audio import MelSpikeEncoder, fsdd, read_wav
from spikegrad.data.speaker_norm import (
    STATS_HOP_MS,
    BandStatistics,
    SpeakerNormalisation,
    band_statistics,
    speech_frames,
)
from spikegrad.errors import ConfigError
from spikegrad.train import apply_overrides, build_experiment, get_recipe

ENCODER = MelSpikeEncoder(n_mels=8, ts=5.0, delta_db=3.0, sample_ms=400.0)


def _stats(mean, std, frames=10) -> BandStatistics:
    return BandStatistics(np.array(mean, float), np.array(std, float), frames)


def test_mapping_by_hand():
    norm = SpeakerNormalisation({"ann": _stats([-10, -20], [2, 4])}, pooled=_stats([-12, -18], [3, 3]))
    level = np.array([[-8.0, -24.0], [-10.0, -20.0], [-60.0, -60.0]])
    mapped = norm.apply(level, "ann", range_db=60.0)
    # -12 + 3 * (-8 + 10) / 2 = -9; -18 + 3 * (-24 + 20) / 4 = -21; the speaker's mean goes to the pooled mean;
    # -12 + 3 * (-50 / 2) = -87 and -18 + 3 * (-40 / 4) = -48: the first is floored at -range_db
    np.testing.assert_allclose(mapped, [[-9.0, -21.0], [-12.0, -18.0], [-60.0, -48.0]])


def test_statistics_count_speech_frames_only():
    loud = np.array([[-1.0, -30.0], [0.0, -50.0], [-3.0, -10.0]])
    silent = np.array([[-45.0, -60.0], [-60.0, -41.0]])  # loudest band 40 dB or more below the peak
    assert np.array_equal(speech_frames(np.concatenate([loud, silent])), loud)
    stats = band_statistics([np.concatenate([loud[:2], silent]), loud[2:]])
    assert stats.frames == 3
    np.testing.assert_allclose(stats.mean, [-4 / 3, -30.0])
    np.testing.assert_allclose(stats.std, [np.std([-1, 0, -3]), np.std([-30, -50, -10])])


def test_statistics_errors():
    with pytest.raises(ConfigError, match="speaker_norm.*at least 2 speech frames.*got 1"):
        band_statistics([np.array([[0.0, -5.0], [-50.0, -60.0]])])
    with pytest.raises(ConfigError, match=r"speaker_norm.*mel bands \[1\]"):
        band_statistics([np.array([[0.0, -5.0], [-2.0, -5.0]])])
    norm = SpeakerNormalisation({"ann": _stats([0], [1])}, pooled=_stats([0], [1]))
    with pytest.raises(ConfigError, match=r"speaker_norm.*'bob'.*\['ann'\]"):
        norm.apply(np.zeros((3, 1)), "bob", 60.0)


SPEAKERS = (("ann", np.array([1.0, 1.0])), ("bob", np.array([1.0, -1.0])), ("cy", np.array([1.0, 0.0, -1.0])))


def _write_speakers(folder, speakers=SPEAKERS[:2]) -> None:
    """Speakers of different timbre: ann's noise bursts are low-passed, bob's high-passed and quieter, cy's
    band-passed."""
    rng = np.random.default_rng(0)
    envelope = np.sin(np.linspace(0, np.pi, 2400)) ** 2
    for speaker, colour in speakers:
        for digit, index in ((3, 0), (3, 7), (5, 2), (5, 9)):
            noise = np.convolve(rng.standard_normal(2400), colour, mode="same") * envelope
            gain = 0.3 if speaker == "ann" else 0.05
            samples = (noise / np.abs(noise).max() * gain * 32767).astype("<i2")
            scipy.io.wavfile.write(folder / f"{digit}_{speaker}_{index}.wav", 8000, samples)


def test_each_speaker_is_moved_onto_the_pooled_statistics(tmp_path):
    _write_speakers(tmp_path)
    norm = SpeakerNormalisation.of_fsdd(tmp_path, ENCODER)
    assert sorted(norm.speakers) == ["ann", "bob"]
    assert norm.pooled.frames == sum(stats.frames for stats in norm.speakers.values())
    assert not np.allclose(norm.speakers["ann"].mean, norm.speakers["bob"].mean, atol=3.0)  # the timbres differ
    coarse = dataclasses.replace(ENCODER, ts=STATS_HOP_MS, sample_ms=None)
    for speaker in ("ann", "bob"):
        speech = np.concatenate([speech_frames(coarse.log_mel(read_wav(path)))
                                 for path in sorted(tmp_path.glob(f"*_{speaker}_*.wav"))])
        mapped = norm.apply(speech, speaker, range_db=float("inf"))  # no floor: the affine map alone
        np.testing.assert_allclose(mapped.mean(0), norm.pooled.mean, atol=1e-9)  # the pooled mean and spread
        np.testing.assert_allclose(mapped.std(0), norm.pooled.std, rtol=1e-9)


def test_fsdd_items_are_coded_from_normalised_levels(tmp_path):
    _write_speakers(tmp_path)
    norm = SpeakerNormalisation.of_fsdd(tmp_path, ENCODER)
    plain = fsdd(tmp_path, "test", ENCODER, held_out_speaker="bob")
    normalised = fsdd(tmp_path, "test", ENCODER, held_out_speaker="bob", normalisation=norm)
    assert normalised.files == plain.files and normalised.labels == plain.labels
    spikes, label = normalised[0]
    level = norm.apply(ENCODER.log_mel(read_wav(plain.files[0])), "bob", ENCODER.range_db)
    assert label == plain.labels[0] and torch.equal(spikes, ENCODER.spikes(level))
    assert spikes.shape == (80, 2, 8) and not torch.equal(spikes, plain[0][0])
    with pytest.raises(ConfigError, match="speaker_norm.*MelSpikeEncoder"):
        fsdd(tmp_path, "test", None, normalisation=norm)


def test_recipe_option_is_honoured(tmp_path):
    _write_speakers(tmp_path)
    settings = {"data_dir": str(tmp_path), "held_out_speaker": "bob", "n_mels": "8", "sample_ms": "300",
                "hidden": "16", "epochs": "1"}
    recipe = get_recipe("slayer-fsdd")
    plain = build_experiment(apply_overrides(recipe.defaults, settings)).split("test")[0]
    with_norm = apply_overrides(recipe.defaults, {**settings, "speaker_norm": "true"})
    normalised = build_experiment(with_norm).split("test")[0]
    assert plain.dense().shape == normalised.dense().shape == (300, 4, 2, 8)
    assert not torch.equal(plain.dense(), normalised.dense())


def test_the_loso_script_reports_every_fold_its_mean_and_worst(tmp_path):
    (tmp_path / "fsdd").mkdir()
    _write_speakers(tmp_path / "fsdd", SPEAKERS)
    script = Path(__file__).resolve().parents[2] / "benchmarks" / "fsdd_loso.py"
    options = ["epochs=1", "n_mels=8", "sample_ms=300", "hidden=8", "speaker_norm=true", "true_count=6",
               "false_count=1"]
    done = subprocess.run([sys.executable, str(script), "--data-dir", str(tmp_path / "fsdd"), "--out",
                           str(tmp_path / "loso"), "--jobs", "2", *[f"--set={option}" for option in options]],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    with open(tmp_path / "loso" / "loso.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["held_out_speaker"] for row in rows] == ["ann", "bob", "cy"]
    finals = [float(row["final_test_accuracy"]) for row in rows]
    assert all(row["epochs"] == "1" for row in rows)
    assert f"| mean (final) | {statistics.mean(finals):.4f} |" in done.stdout
    assert f"| worst (final) | {min(finals):.4f} |" in done.stdout
    for speaker in ("ann", "bob", "cy"):  # each fold's own run directory, its test split that speaker alone
        assert (tmp_path / "loso" / speaker / "summary.json").is_file()
