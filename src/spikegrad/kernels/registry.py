"""The backend registry: one dispatch point per op, the reference unless a kernel applies.

Every op is first a PyTorch reference in :mod:`spikegrad.functional` (the specification). A kernel is
registered for an op by naming the module that implements it; the module is imported on first use (so
``import spikegrad`` never imports Triton) and provides

- ``supports(x, *args) -> str | None``: why the kernel cannot run this call (a sentence), or None; it may
  be shown more of the call than ``apply`` takes (the neuron scan's own tensors, which it refuses);
- ``apply(x, *args)``: the kernel, with the reference's signature and outputs, differentiable;
- ``INTERPRETED``: whether its kernels were built for Triton's interpreter (CPU tensors).

:func:`kernel_for` is the dispatch point. Under :attr:`Backend.AUTO` (the default) it returns the kernel for
CUDA tensors when Triton imports and the call is supported, else None (the caller runs the reference).
:attr:`Backend.REFERENCE` always returns None. :attr:`Backend.TRITON` always returns the kernel and raises
:class:`~spikegrad.errors.ConfigError` where it cannot run; on CPU tensors it needs ``TRITON_INTERPRET=1``
set before the kernel module is imported (Triton's interpreter, for tests). The process default comes from
the environment variable ``SPIKEGRAD_BACKEND`` (``auto``, ``reference`` or ``triton``); :func:`use_backend`
changes it inside a ``with`` block.
"""

from __future__ import annotations

import contextlib
import enum
import importlib
import os
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import torch

from spikegrad.errors import ConfigError


class Backend(enum.Enum):
    """Which implementation the ops run."""

    AUTO = "auto"  # kernels for CUDA tensors where supported, the reference elsewhere
    REFERENCE = "reference"  # always the PyTorch reference
    TRITON = "triton"  # always the Triton kernels; an unsupported call raises


def _parse(value: str, option: str) -> Backend:
    try:
        return Backend(value)
    except ValueError:
        raise ConfigError(option, f"expected one of {[b.value for b in Backend]}, got {value!r}") from None


_backend = _parse(os.environ.get("SPIKEGRAD_BACKEND", "auto"), "SPIKEGRAD_BACKEND")
_KERNELS: dict[str, str] = {}
_loaded: dict[str, ModuleType | ImportError] = {}


def current_backend() -> Backend:
    """The backend :func:`kernel_for` uses now."""
    return _backend


@contextlib.contextmanager
def use_backend(backend: Backend | str) -> Iterator[None]:
    """Inside the ``with`` block every op dispatches under ``backend`` (a :class:`Backend` or its value)."""
    global _backend
    chosen = backend if isinstance(backend, Backend) else _parse(backend, "backend")
    before, _backend = _backend, chosen
    try:
        yield
    finally:
        _backend = before


def register(op: str, module: str) -> None:
    """Register the kernel of ``op`` implemented by the module named ``module`` (imported on first use)."""
    if op in _KERNELS:
        raise ConfigError("kernel", f"op {op!r} already has a kernel ({_KERNELS[op]})")
    _KERNELS[op] = module


def _load(op: str) -> ModuleType | ImportError:
    if op not in _loaded:
        try:
            _loaded[op] = importlib.import_module(_KERNELS[op])
        except ImportError as error:  # Triton missing or broken: the reference runs (AUTO) or a clear error (TRITON)
            _loaded[op] = error
    return _loaded[op]


def kernel_for(op: str, x: torch.Tensor, *args: Any) -> Callable[..., Any] | None:
    """The kernel to run ``op`` on input ``x`` (and the op's other arguments), or None for the reference.

    Raises:
        ConfigError: under :attr:`Backend.TRITON`, when the op has no kernel, Triton does not import, ``x``
            is a CPU tensor outside Triton's interpreter, or the kernel does not support the call.
    """
    if _backend is Backend.REFERENCE or (_backend is Backend.AUTO and (not x.is_cuda or op not in _KERNELS)):
        return None
    forced = _backend is Backend.TRITON
    if op not in _KERNELS:
        raise ConfigError("backend", f"op {op!r} has no Triton kernel; use the reference backend")
    module = _load(op)
    if isinstance(module, ImportError):
        if forced:
            raise ConfigError("backend", f"the Triton kernel of {op!r} cannot be imported: {module}")
        return None
    if forced and not x.is_cuda and not module.INTERPRETED:
        raise ConfigError("backend", f"the Triton kernel of {op!r} got a {x.device} tensor; CPU tensors need "
                          "TRITON_INTERPRET=1 set before the kernel is first used (Triton's interpreter)")
    reason = module.supports(x, *args)
    if reason is not None:
        if forced:
            raise ConfigError("backend", f"the Triton kernel of {op!r} does not support this call: {reason}")
        return None
    return module.apply
