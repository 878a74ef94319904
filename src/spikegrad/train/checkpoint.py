"""Checkpoints that are written atomically and load without executing code.

``checkpoint.pt`` holds tensors, numbers, strings and lists only, and is read with
``torch.load(weights_only=True)``; the final weights also go to ``model.safetensors``. Each file is
written to a temporary name in the same folder and renamed over the old one, so an interruption never
leaves a half-written checkpoint.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from spikegrad.errors import CheckpointError

CHECKPOINT = "checkpoint.pt"
WEIGHTS = "model.safetensors"


def _atomic(path: Path, write) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    write(tmp)
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def save_checkpoint(run_dir: Path, state: dict[str, Any]) -> Path:
    """Write ``state`` (model/optimizer/scheduler state dicts, epoch, history, ...) atomically."""
    path = run_dir / CHECKPOINT
    _atomic(path, lambda tmp: torch.save(state, tmp))
    return path


def load_checkpoint(run_dir: Path) -> dict[str, Any]:
    """Read ``checkpoint.pt`` safely; a missing or corrupt file raises :class:`CheckpointError`."""
    path = run_dir / CHECKPOINT
    if not path.is_file():
        raise CheckpointError(f"{path}: no checkpoint found; was this run started and did it finish one epoch?")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises several types for corrupt or unsafe files
        raise CheckpointError(f"{path}: cannot be read as a spikegrad checkpoint ({type(err).__name__}: {err})") from None


def save_weights(run_dir: Path, model: torch.nn.Module) -> Path:
    path = run_dir / WEIGHTS
    tensors = {name: value.detach().cpu().contiguous() for name, value in model.state_dict().items()}
    _atomic(path, lambda tmp: save_file(tensors, str(tmp)))
    return path


def load_weights(run_dir: Path, model: torch.nn.Module) -> None:
    """Load ``model.safetensors`` into ``model``; mismatched names or shapes raise CheckpointError."""
    path = run_dir / WEIGHTS
    if not path.is_file():
        raise CheckpointError(f"{path}: no trained weights found in this run directory")
    try:
        tensors = load_file(str(path))
    except Exception as err:
        raise CheckpointError(f"{path}: not a valid safetensors file ({err})") from None
    try:
        model.load_state_dict(tensors)
    except RuntimeError as err:
        raise CheckpointError(f"{path}: weights do not fit the recipe's model: {err}") from None
