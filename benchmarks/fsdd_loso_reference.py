"""How speaker-independent can FSDD be with these front ends? A non-spiking reference for ``fsdd_loso.py``.

Leave-one-speaker-out with a small non-spiking classifier (an MLP: 256 ReLU units, dropout 0.3, Adam 1e-3,
weight decay 1e-4, batch 32, ``--epochs`` epochs, inputs standardised on the training speakers) on the same
mel levels the spike encoder codes (:meth:`spikegrad.data.audio.MelSpikeEncoder.log_mel`, 25 ms windows
every 10 ms), from the first to the last speech frame, resampled to 20 frames. Each row: one front end,
with and without speaker-level band normalisation (:mod:`spikegrad.data.speaker_norm`); the final
held-out accuracy of each fold, their mean and the worst. If this classifier, which sees whole utterances
stretched to one length, cannot reach an accuracy, the spiking network on the same bands is not expected to.

    python benchmarks/fsdd_loso_reference.py --data-dir ../shared/data/fsdd [--mels 16 32] [--epochs 40]
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import numpy as np
import torch

from spikegrad.data.audio import MelSpikeEncoder, fsdd_recordings, read_wav
from spikegrad.data.speaker_norm import SpeakerNormalisation

FRAMES = 20


def utterance_features(level: np.ndarray) -> np.ndarray:
    """``level`` ``[frames, n_mels]`` from its first to its last speech frame, resampled to :data:`FRAMES`."""
    speech = np.flatnonzero(level.max(axis=1) > level.max(axis=1).max() - 40.0)
    level = level[speech[0] : speech[-1] + 1]
    at = np.linspace(0, len(level) - 1, FRAMES)
    return np.stack([np.interp(at, np.arange(len(level)), band) for band in level.T], axis=1).reshape(-1)


def held_out_accuracy(features: np.ndarray, labels: np.ndarray, test: np.ndarray, epochs: int) -> float:
    """Train the MLP on ``~test`` rows, return its accuracy on the ``test`` rows (seed 0)."""
    x, y = torch.tensor(features, dtype=torch.float32), torch.tensor(labels)
    mean, std = x[~test].mean(0), x[~test].std(0) + 1e-6
    x = (x - mean) / std
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(x.shape[1], 256), torch.nn.ReLU(), torch.nn.Dropout(0.3),
                              torch.nn.Linear(256, 10))
    optimiser = torch.optim.Adam(net.parameters(), 1e-3, weight_decay=1e-4)
    train = torch.tensor(np.flatnonzero(~test))
    for _ in range(epochs):
        net.train()
        for batch in train[torch.randperm(len(train))].split(32):
            loss = torch.nn.functional.cross_entropy(net(x[batch]), y[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    net.eval()
    with torch.no_grad():
        return (net(x[test]).argmax(1) == y[test]).float().mean().item()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--mels", type=int, nargs="+", default=[16, 32])
    parser.add_argument("--epochs", type=int, default=40)
    args = parser.parse_args()
    recordings = fsdd_recordings(args.data_dir)[1]
    audio = [read_wav(recording.path) for recording in recordings]
    labels = np.array([recording.digit for recording in recordings])
    speakers = np.array([recording.speaker for recording in recordings])
    names = sorted(set(speakers))
    print(f"| mel bands | speaker norm | {' | '.join(names)} | mean | worst |\n|---|---|{'---|' * (len(names) + 2)}")
    for n_mels in args.mels:
        encoder = MelSpikeEncoder(n_mels=n_mels, ts=10.0, window_ms=25.0)
        levels = [encoder.log_mel(clip) for clip in audio]
        normalisation = SpeakerNormalisation.of_fsdd(args.data_dir, encoder)
        for normalise in (False, True):
            features = np.stack([
                utterance_features(normalisation.apply(level, speaker, encoder.range_db) if normalise else level)
                for level, speaker in zip(levels, speakers)])
            accuracy = [held_out_accuracy(features, labels, speakers == name, args.epochs) for name in names]
            cells = " | ".join(f"{value:.3f}" for value in accuracy)
            print(f"| {n_mels} | {'yes' if normalise else 'no'} | {cells} | {statistics.mean(accuracy):.3f} | "
                  f"{min(accuracy):.3f} |", flush=True)


if __name__ == "__main__":
    main()
