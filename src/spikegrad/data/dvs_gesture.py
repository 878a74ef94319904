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
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from spikegrad.data.aedat import DVS128_SENSOR, read_aedat31
from spikegrad.data.fileio import read_text_lines
from spikegrad.errors import ConfigError, DataFormatError, DataNotFoundError

CLASSES = (
    "hand_clapping", "right_hand_wave", "left_hand_wave", "right_arm_clockwise", "right_arm_counter_clockwise",
    "left_arm_clockwise", "left_arm_counter_clockwise", "arm_roll", "air_drums", "air_guitar", "other_gestures",
)  # fmt: skip
TRIAL_LISTS = {"train": "trials_to_train.txt", "test": "trials_to_test.txt"}
LABEL_DTYPE = np.dtype([("label", np.int64), ("start", np.int64), ("stop", np.int64)])
LABEL_HEADER = ("class", "startTime_usec", "endTime_usec")
MAX_TIME_US = (1 << 63) - 1
_DECIMAL = re.compile(r"\d+", re.ASCII)


def _is_header(fields: list[str]) -> bool:
    """Whether a label CSV line's fields are the release's header ``class,startTime_usec,endTime_usec``."""
    return [f.lower() for f in fields] == [f.lower() for f in LABEL_HEADER]


def _label_row(path: str | os.PathLike, number: int, offset: int, line: str) -> tuple[int, int, int]:
    """``(label 0-based, start, stop)`` of one label CSV row, after checking its values."""
    fields = [f.strip() for f in line.split(",")]
    if len(fields) != 3 or not all(_DECIMAL.fullmatch(f) for f in fields):
        expected = f"'{','.join(LABEL_HEADER)}' (the header, first line only) or three integers"
        raise DataFormatError(path, f"line {number}: expected {expected}, got {line.strip()[:60]!r}", offset=offset)
    too_big = [f for f in fields if len(f) > 19 or int(f) > MAX_TIME_US]  # 19 digits: int() stays cheap
    if too_big:
        value = too_big[0] if len(too_big[0]) <= 30 else f"{too_big[0][:20]}... ({len(too_big[0])} digits)"
        raise DataFormatError(path, f"line {number}: value {value} does not fit in 64 bits", offset=offset)
    label, start, stop = (int(f) for f in fields)
    if not 1 <= label <= len(CLASSES):
        raise DataFormatError(
            path, f"line {number}: class {label}, expected a class in 1..{len(CLASSES)}", offset=offset
        )
    if start >= stop:
        message = f"line {number}: start {start} >= stop {stop}, expected start < stop"
        raise DataFormatError(path, message, offset=offset)
    return label - 1, start, stop


def read_gesture_labels(path: str | os.PathLike) -> np.ndarray:
    """Rows of a ``*_labels.csv`` as a :data:`LABEL_DTYPE` array (``label`` 0-based, times in µs).

    The first non-blank line is skipped only when it is the header ``class,startTime_usec,endTime_usec``
    (case and spaces ignored), so a label file without a header keeps its first gesture.

    Raises:
        DataNotFoundError: the file does not exist.
        DataFormatError: not a regular file, a row that is not three integers, a class outside 1..11,
            a time that does not fit in 64 bits, ``start >= stop``, or no row at all; the offset is
            the row's first byte.
    """
    rows: list[tuple[int, int, int]] = []
    first = True
    for number, offset, line in read_text_lines(path, "DVS Gesture labels CSV"):
        if not line.strip():
            continue
        if not (first and _is_header([f.strip() for f in line.split(",")])):
            rows.append(_label_row(path, number, offset, line))
        first = False
    if not rows:
        raise DataFormatError(path, f"no label rows; expected '{','.join(LABEL_HEADER)}' lines, one per gesture")
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
    """The ``.aedat`` names listed in ``trials_to_train.txt`` / ``trials_to_test.txt`` (blank lines skipped).

    Raises:
        DataNotFoundError: the file does not exist.
        DataFormatError: not a regular file, a name that does not end in ``.aedat``, or no name at all.
    """
    names = []
    for number, offset, line in read_text_lines(path, "DVS Gesture trial list"):
        for name in line.split():
            if not name.endswith(".aedat"):
                raise DataFormatError(path, f"line {number}: expected '.aedat' file names, got {name!r}", offset=offset)
            names.append(name)
    if not names:
        raise DataFormatError(path, "the trial list names no trial; expected one '.aedat' file name per line")
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
            if not trial.exists():  # anything else there is refused when it is read
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
