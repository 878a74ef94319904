"""DVS128 Gesture (Amir et al., CVPR 2017): trials in AEDAT 3.1, cut into gestures by their label CSVs.

The release folder (``DvsGesture/``) holds, per trial, ``userNN_<lighting>.aedat`` and
``userNN_<lighting>_labels.csv`` (header ``class,startTime_usec,endTime_usec``, then one row per
performed gesture, class 1..11), plus ``trials_to_train.txt`` / ``trials_to_test.txt`` naming the
``.aedat`` files of each split (users 1-23 train, 24-29 test: 98 and 24 trials).

**Samples and the canonical split.** Every label row is one sample with the events
``startTime_usec <= t < endTime_usec`` (timestamps made relative to the row's start) and label
``class - 1`` (0..10). This gives **1 176 train / 288 test** samples, the counts SpikingJelly and snnTorch
report for the same rule: the 122 label files have 1 464 rows, 12 per trial on average, because a class
can be listed twice in a trial (class 8, "arm roll", in ``user01_fluorescent_labels.csv``). Tonic's
DVSGesture reports 1 077 / 264 because it loads a separately preprocessed copy of the dataset
(``ibmGestureTrain/Test.tar.gz``, one ``.npy`` per sample) rather than cutting the raw trials; its total
is close to the paper's "1 342 instances". We cut the official files with the official labels, so ours
is the count anyone gets from the release itself.
Known label fault: in ``user22_led_labels.csv`` the end of the class-9 row lies after the start of the
class-10 row; rows are cut independently, so those two samples share events, as in SpikingJelly.

SLAYER trained on the first 1 450 ms of each sample (1 450 bins of 1 ms, OR-binned); use
:class:`~spikegrad.data.events.EventsToSpikes` with ``EventBinning((128, 128), 1450.0)``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from spikegrad.data.aedat import DVS128_SENSOR, read_aedat31
from spikegrad.data.fileio import read_file_bytes
from spikegrad.errors import ConfigError, DataFormatError, DataNotFoundError

CLASSES = (
    "hand_clapping", "right_hand_wave", "left_hand_wave", "right_arm_clockwise", "right_arm_counter_clockwise",
    "left_arm_clockwise", "left_arm_counter_clockwise", "arm_roll", "air_drums", "air_guitar", "other_gestures",
)  # fmt: skip
TRIAL_LISTS = {"train": "trials_to_train.txt", "test": "trials_to_test.txt"}
LABEL_DTYPE = np.dtype([("label", np.int64), ("start", np.int64), ("stop", np.int64)])


def read_gesture_labels(path: str | os.PathLike) -> np.ndarray:
    """Rows of a ``*_labels.csv`` as a :data:`LABEL_DTYPE` array (``label`` 0-based, times in µs).

    Raises:
        DataFormatError: a row is not three integers, a class is outside 1..11, or ``start >= stop``;
            the offset is the row's first byte.
    """
    text = read_file_bytes(path, "DVS Gesture labels CSV").decode("ascii", errors="replace")
    rows = []
    offset = 0
    for number, line in enumerate(text.splitlines(keepends=True)):
        fields = [f.strip() for f in line.split(",")]
        if number > 0 and line.strip():
            if len(fields) != 3 or not all(f.isdigit() for f in fields):
                expected = "'class,startTime_usec,endTime_usec'"
                raise DataFormatError(path, f"expected {expected}, got {line.strip()!r}", offset=offset)
            label, start, stop = (int(f) for f in fields)
            if not 1 <= label <= len(CLASSES) or start >= stop:
                rule = f"class must be 1..{len(CLASSES)} and start < stop"
                raise DataFormatError(path, f"{rule}, got {line.strip()!r}", offset=offset)
            rows.append((label - 1, start, stop))
        offset += len(line)
    return np.array(rows, dtype=LABEL_DTYPE)


def cut_trial(events: np.ndarray, labels: np.ndarray) -> list[tuple[np.ndarray, int]]:
    """One ``(events, label)`` per label row: ``start <= t < stop``, times shifted to start at the row's start."""
    samples = []
    for label, start, stop in labels.tolist():
        lo, hi = np.searchsorted(events["t"], [start, stop], side="left")
        cut = events[lo:hi].copy()
        cut["t"] -= start
        samples.append((cut, label))
    return samples


def read_trial_list(path: str | os.PathLike) -> list[str]:
    """The ``.aedat`` names listed in ``trials_to_train.txt`` / ``trials_to_test.txt`` (blank lines skipped)."""
    names = read_file_bytes(path, "DVS Gesture trial list").decode("ascii", errors="replace").split()
    bad = [n for n in names if not n.endswith(".aedat")]
    if bad:
        raise DataFormatError(path, f"expected '.aedat' file names, got {bad[0]!r}")
    return names


class DVSGesture(torch.utils.data.Dataset):
    """DVS128 Gesture samples cut from the release's AEDAT 3.1 trials (see the module docstring).

    Item ``i`` is ``(transform(events), label)``. Reading a sample parses its whole trial file; the last
    trial parsed is kept, so iterating in order (as the test split is) reads each file once.

    Args:
        root: the release folder holding the ``.aedat``, ``*_labels.csv`` and ``trials_to_*.txt`` files.
        split: ``"train"`` (1 176 samples) or ``"test"`` (288).
        transform: applied to each sample's events; None returns the events.
    """

    def __init__(self, root: str | os.PathLike, split: str, transform: Callable[[np.ndarray], Any] | None = None):
        if split not in TRIAL_LISTS:
            raise ConfigError("split", f"expected one of {sorted(TRIAL_LISTS)}, got {split!r}")
        self.root, self.transform = Path(root), transform
        self.samples: list[tuple[Path, int, int, int]] = []  # (trial file, label, start, stop)
        for name in read_trial_list(self.root / TRIAL_LISTS[split]):
            trial = self.root / name
            if not trial.is_file():
                raise DataNotFoundError(trial, f"trial listed in {TRIAL_LISTS[split]} is missing")
            labels = read_gesture_labels(trial.with_name(trial.stem + "_labels.csv"))
            self.samples += [(trial, label, start, stop) for label, start, stop in labels.tolist()]
        self._cached: tuple[Path, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[Any, int]:
        trial, label, start, stop = self.samples[index]
        if self._cached is None or self._cached[0] != trial:
            self._cached = (trial, read_aedat31(trial, DVS128_SENSOR))
        row = np.array([(label, start, stop)], dtype=LABEL_DTYPE)
        events, label = cut_trial(self._cached[1], row)[0]
        return (events if self.transform is None else self.transform(events)), label
