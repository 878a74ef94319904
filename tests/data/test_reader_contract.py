"""What every file reader promises (issue 18): only regular files are read, and empty files are errors.

A FIFO in place of a data file used to hang 10 of 12 readers; now each refuses it (and a device, and a
folder) with a DataFormatError naming the file, without opening it. An empty file is never zero samples.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from spikegrad.data.aedat import read_aedat31
from spikegrad.data.audio import read_wav
from spikegrad.data.cifar import read_cifar_batch
from spikegrad.data.cifar_png import read_cifar_kaggle_png, read_png_rgb
from spikegrad.data.dvs_gesture import read_gesture_labels, read_trial_list
from spikegrad.data.idx import read_idx
from spikegrad.data.mnist_csv import read_mnist_csv
from spikegrad.data.nmnist import read_40bit_events, read_sample_list
from spikegrad.data.svhn import read_svhn_mat
from spikegrad.errors import DataFormatError, DataNotFoundError

# reader name -> (file name it reads, how to call it on that file)
READERS: dict[str, tuple[str, Callable[[Path], object]]] = {
    "idx": ("t10k-images-idx3-ubyte.gz", read_idx),
    "mnist_csv": ("mnist_5k.csv.gz", read_mnist_csv),
    "cifar_batch": ("data_batch_1", read_cifar_batch),
    "cifar_png": ("1.png", read_png_rgb),
    "cifar_kaggle_labels": ("trainLabels.csv", lambda path: read_cifar_kaggle_png(path.parent)),
    "svhn": ("train_32x32.mat", read_svhn_mat),
    "nmnist_events": ("1.bs2", read_40bit_events),
    "nmnist_list": ("train1K.txt", read_sample_list),
    "aedat": ("user01_led.aedat", read_aedat31),
    "gesture_labels": ("user01_led_labels.csv", read_gesture_labels),
    "gesture_trials": ("trials_to_train.txt", read_trial_list),
    "wav": ("0_george_0.wav", read_wav),
}
HANG_SECONDS = 5.0


def _outcome(read: Callable[[Path], object], path: Path) -> BaseException | None:
    """What ``read(path)`` raised (None if it returned); fails the test if it is still running after 5 s."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            read(path)
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            outcome.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(HANG_SECONDS)
    if worker.is_alive():
        pytest.fail(f"reading {path} still blocks after {HANG_SECONDS} s")
    return outcome[0]


def _refused(read: Callable[[Path], object], path: Path, match: str) -> DataFormatError:
    error = _outcome(read, path)
    assert isinstance(error, DataFormatError), f"expected DataFormatError, got {error!r}"
    assert str(path) in str(error) and match in str(error), str(error)
    return error


@pytest.mark.parametrize("reader", sorted(READERS))
def test_fifo_in_place_of_the_file(tmp_path, reader):
    name, read = READERS[reader]
    os.mkfifo(tmp_path / name)
    _refused(read, tmp_path / name, "expected a regular file, found a FIFO (named pipe)")


@pytest.mark.parametrize("reader", sorted(READERS))
def test_device_in_place_of_the_file(tmp_path, reader):
    name, read = READERS[reader]
    (tmp_path / name).symlink_to("/dev/zero")  # endless if it were read
    _refused(read, tmp_path / name, "found a character device")


@pytest.mark.parametrize("reader", sorted(READERS))
def test_folder_in_place_of_the_file(tmp_path, reader):
    name, read = READERS[reader]
    (tmp_path / name).mkdir()
    _refused(read, tmp_path / name, "found a folder")


@pytest.mark.parametrize("reader", sorted(READERS))
def test_empty_file_is_an_error(tmp_path, reader):
    name, read = READERS[reader]
    (tmp_path / name).write_bytes(b"")
    _refused(read, tmp_path / name, "")


@pytest.mark.parametrize("reader", sorted(READERS))
def test_missing_file(tmp_path, reader):
    name, read = READERS[reader]
    error = _outcome(read, tmp_path / name)
    assert isinstance(error, DataNotFoundError) and name in str(error), repr(error)
