"""Typed errors raised by spikegrad.

Every error names the file, option or tensor at fault and says what was expected, so that a user can
fix the input without reading the source. All derive from :class:`SpikegradError`.
"""

from __future__ import annotations

import math
from pathlib import Path


class SpikegradError(Exception):
    """Base class of every error raised on purpose by spikegrad."""


class ConfigError(SpikegradError, ValueError):
    """An option or configuration value is invalid.

    Args:
        option: the option's name as the user wrote it (``"epochs"``, ``"model.hidden"``).
        message: what was wrong and what was expected.
    """

    def __init__(self, option: str, message: str):
        self.option = option
        super().__init__(f"option {option!r}: {message}")


def check_positive(option: str, value: float, lower: float = 0.0) -> None:
    """Raise :class:`ConfigError` unless ``value`` is a finite number greater than ``lower``."""
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value > lower):
        raise ConfigError(option, f"must be a finite number > {lower:g}, got {value!r}")


class DataFormatError(SpikegradError, ValueError):
    """A data file is missing, truncated or not in the expected format.

    Args:
        path: the file at fault.
        message: what was wrong and what was expected.
        offset: byte offset of the fault inside the file, when known.
    """

    def __init__(self, path: str | Path, message: str, offset: int | None = None):
        self.path = Path(path)
        self.offset = offset
        where = f"{self.path}" if offset is None else f"{self.path} (byte offset {offset})"
        super().__init__(f"{where}: {message}")


class DataNotFoundError(DataFormatError, FileNotFoundError):
    """A dataset or one of its files is not where it was looked for."""


class ShapeError(SpikegradError, ValueError):
    """A tensor has the wrong shape or layout.

    Args:
        name: the tensor or argument at fault.
        expected: the expected shape, in words (``"[T, B, 784]"``).
        got: the shape that arrived.
    """

    def __init__(self, name: str, expected: str, got: tuple[int, ...] | str):
        self.name = name
        super().__init__(f"{name}: expected shape {expected}, got {tuple(got) if not isinstance(got, str) else got}")


class InputError(SpikegradError, ValueError):
    """A tensor given to the library has a dtype it cannot use or holds values it cannot use (NaN, inf).

    Args:
        name: the tensor or argument at fault.
        message: what was wrong and what was expected.
    """

    def __init__(self, name: str, message: str):
        self.name = name
        super().__init__(f"{name}: {message}")


class NonFiniteInputError(InputError):
    """A tensor given to a neuron holds NaN or inf (inside a network in training: its weights diverged)."""


class TrainingDivergedError(SpikegradError, FloatingPointError):
    """The loss or a gradient became NaN or infinite; training stopped.

    The last good checkpoint is left untouched in the run directory.
    """


class CheckpointError(SpikegradError, RuntimeError):
    """A checkpoint or run directory is missing, corrupt or does not fit the model."""


class ExportError(SpikegradError, ValueError):
    """A network cannot be written to, or read from, an exchange format (NIR) exactly.

    Args:
        layer: the layer or graph node at fault, as the user can find it (``"layer 3 (LIF)"``,
            ``"NIR node 'lif_1' (CubaLIF)"``).
        message: why it cannot be represented and what to do instead.
    """

    def __init__(self, layer: str, message: str):
        self.layer = layer
        super().__init__(f"{layer}: {message}")
