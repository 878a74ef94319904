"""Checkpoints that are written atomically, verified on load, and never disagree with the weights.

A run directory holds two files of trained state:

``checkpoint.pt``
    everything needed to continue the run (model, optimiser and schedule state, ``epochs_done``,
    ``history``, ``train_seconds``): the 8-byte magic ``SGCKPT01``, the SHA-256 of the payload (32 bytes),
    then the payload, a ``torch.save`` archive of tensors, numbers, strings, lists and dicts read back
    with ``torch.load(weights_only=True)`` (no code runs from the file). Read it with
    :func:`load_checkpoint`; ``torch.load`` alone does not read the container.
``model.safetensors``
    the model's weights alone, for ``eval``/``analyze``/``export`` and for other tools. Its metadata holds
    ``epochs_done`` and ``sha256``, a digest of ``epochs_done`` and every tensor's name, dtype, shape and bytes.

Every file is written to a temporary name in the same folder, flushed and renamed over the old one, so
an interruption never leaves a half-written file. The checkpoint is written before the weights: a kill
between the two leaves weights one epoch behind the checkpoint, and :func:`load_weights` then takes the
checkpoint's (newer) weights and rewrites ``model.safetensors`` from them. A flipped bit anywhere in
either file, a checkpoint whose parts have the wrong types, and non-finite weights are refused with a
:class:`~spikegrad.errors.CheckpointError` naming the file.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from spikegrad.errors import CheckpointError

CHECKPOINT = "checkpoint.pt"
WEIGHTS = "model.safetensors"
MAGIC = b"SGCKPT01"
_DIGEST_BYTES = 32


def _atomic(path: Path, write) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    write(tmp)
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def remove_stale_temporaries(run_dir: Path) -> list[Path]:
    """Delete the ``.<name>.tmp`` files an interrupted save left in ``run_dir``; returns what was removed."""
    stale = sorted(path for path in Path(run_dir).glob(".*.tmp") if path.is_file())
    for path in stale:
        path.unlink()
    return stale


# -- checkpoint.pt --------------------------------------------------------------------------------------
def save_checkpoint(run_dir: Path, state: dict[str, Any]) -> Path:
    """Write ``state`` (model/optimizer/schedule state dicts, epochs_done, history, ...) atomically."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    payload = buffer.getvalue()
    path = Path(run_dir) / CHECKPOINT
    _atomic(path, lambda tmp: tmp.write_bytes(MAGIC + hashlib.sha256(payload).digest() + payload))
    return path


def load_checkpoint(run_dir: Path) -> dict[str, Any]:
    """Read and verify ``checkpoint.pt``: its checksum, its parts' types and the finiteness of its tensors.

    Raises:
        CheckpointError: the file is missing, altered (checksum), not a spikegrad checkpoint, or holds
            parts of the wrong type or non-finite model or optimiser state.
    """
    path = Path(run_dir) / CHECKPOINT
    if not path.is_file():
        raise CheckpointError(f"{path}: no checkpoint found; was this run started and did it finish one epoch?")
    data = path.read_bytes()
    header = len(MAGIC) + _DIGEST_BYTES
    if len(data) < header or not data.startswith(MAGIC):
        raise CheckpointError(f"{path}: not a spikegrad checkpoint (expected the {MAGIC.decode()} header)")
    payload = data[header:]
    if hashlib.sha256(payload).digest() != data[len(MAGIC):header]:
        raise CheckpointError(f"{path}: checksum mismatch: the file was altered or damaged after it was written")
    try:
        state = torch.load(io.BytesIO(payload), map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises several types for corrupt or unsafe payloads
        raise CheckpointError(f"{path}: cannot be read ({type(err).__name__}: {err})") from None
    _check_state(path, state)
    return state


_STATE_TYPES: dict[str, type | tuple[type, ...]] = {
    "model": Mapping, "optimizer": Mapping, "schedule": Mapping, "epochs_done": int, "history": list,
    "train_seconds": (int, float),
}


def _check_state(path: Path, state: Any) -> None:
    if not isinstance(state, Mapping):
        raise CheckpointError(f"{path}: expected a mapping of run state, got {type(state).__name__}")
    for key, kind in _STATE_TYPES.items():
        if key not in state:
            raise CheckpointError(f"{path}: the part {key!r} is missing")
        if not isinstance(state[key], kind) or isinstance(state[key], bool):
            raise CheckpointError(f"{path}: the part {key!r} has type {type(state[key]).__name__}")
    history = state["history"]
    if state["epochs_done"] != len(history) or not all(isinstance(row, Mapping) for row in history):
        raise CheckpointError(f"{path}: 'epochs_done' = {state['epochs_done']} does not match its history of "
                              f"{len(history)} epoch rows")
    if not math.isfinite(state["train_seconds"]):
        raise CheckpointError(f"{path}: 'train_seconds' is {state['train_seconds']}")
    _check_finite(path, state["model"], "model")
    _check_finite(path, state["optimizer"], "optimizer")


def _check_finite(path: Path, value: Any, where: str) -> None:
    if isinstance(value, torch.Tensor):
        if value.is_floating_point() and not torch.isfinite(value).all():
            raise CheckpointError(f"{path}: {where} holds non-finite values")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _check_finite(path, item, f"{where}.{key}")
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _check_finite(path, item, f"{where}[{index}]")


# -- model.safetensors ----------------------------------------------------------------------------------
def tensors_digest(tensors: Mapping[str, torch.Tensor], epochs_done: int) -> str:
    """SHA-256 (hex) over ``epochs_done`` and every tensor's name, dtype, shape and bytes, in name order."""
    digest = hashlib.sha256(f"epochs_done={epochs_done}\0".encode())
    for name in sorted(tensors):
        value = tensors[name].detach().cpu().contiguous()
        digest.update(f"{name}\0{value.dtype}\0{tuple(value.shape)}\0".encode())
        digest.update(value.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def save_weights(run_dir: Path, weights: Mapping[str, torch.Tensor], epochs_done: int) -> Path:
    """Write ``weights`` (a state dict) with their digest and ``epochs_done`` as metadata, atomically."""
    path = Path(run_dir) / WEIGHTS
    tensors = {name: value.detach().cpu().contiguous() for name, value in weights.items()}
    metadata = {"sha256": tensors_digest(tensors, epochs_done), "epochs_done": str(epochs_done)}
    _atomic(path, lambda tmp: save_file(tensors, str(tmp), metadata=metadata))
    return path


def read_weights(path: Path) -> tuple[dict[str, torch.Tensor], int]:
    """Read and verify a weights file written by :func:`save_weights`: ``(tensors, epochs_done)``."""
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
            tensors = {name: handle.get_tensor(name) for name in handle.keys()}
    except Exception as err:  # safetensors raises its own error type and OSError/ValueError
        raise CheckpointError(f"{path}: not a valid safetensors file ({err})") from None
    if "sha256" not in metadata or not metadata.get("epochs_done", "").isdigit():
        raise CheckpointError(f"{path}: has no spikegrad checksum metadata (sha256, epochs_done)")
    epochs_done = int(metadata["epochs_done"])
    if tensors_digest(tensors, epochs_done) != metadata["sha256"]:
        raise CheckpointError(f"{path}: checksum mismatch: the file was altered or damaged after it was written")
    _check_finite(path, tensors, "weights")
    return tensors, epochs_done


def load_weights(run_dir: Path, model: torch.nn.Module) -> None:
    """Load the run's trained weights into ``model``.

    The weights are ``model.safetensors``, or the checkpoint's model state when the checkpoint is newer
    (an interruption between the two saves); the weights file is then rewritten from it. Mismatched names
    or shapes, altered files and non-finite values raise :class:`CheckpointError`.
    """
    run_dir = Path(run_dir)
    path = run_dir / WEIGHTS
    if not path.is_file():
        raise CheckpointError(f"{path}: no trained weights found in this run directory")
    tensors, epochs_done = read_weights(path)
    if (run_dir / CHECKPOINT).is_file():
        state = load_checkpoint(run_dir)
        if state["epochs_done"] < epochs_done:
            raise CheckpointError(f"{path}: written after epoch {epochs_done}, but {run_dir / CHECKPOINT} holds "
                                  f"only {state['epochs_done']} epochs: the files were mixed from different runs")
        if state["epochs_done"] > epochs_done:
            tensors = state["model"]
            save_weights(run_dir, tensors, state["epochs_done"])
    try:
        model.load_state_dict(tensors)
    except RuntimeError as err:
        raise CheckpointError(f"{path}: weights do not fit the recipe's model: {err}") from None
