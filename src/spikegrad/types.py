"""Layout conventions shared by every op, and the checks on the tensors that enter the library.

Public tensors are time-first, ``[T, B, *features]``. Every neuron of the library (the shared scan,
SLAYER's SRM, Lee's and NA's neurons) calls :func:`check_neuron_input` on its input once per call, so a bad
input is a typed error at the call that received it, not silent zero spikes (NaN never crosses a
threshold) or a raw torch error deep in the stack.

Cost: the layout and dtype checks read metadata only. The finiteness check is one reduction over the
input per call of a neuron layer (never per time step); on a GPU that is one host synchronisation per
neuron layer and forward pass. Inside :func:`allow_non_finite` it is skipped.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from spikegrad.errors import InputError, NonFiniteInputError, ShapeError

TIME_DIM = 0
BATCH_DIM = 1
FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
_check_finite = True


def full_precision(x: torch.Tensor) -> torch.Tensor:
    """``x`` as float32 when autocast is on and ``x`` is float16/bfloat16, else ``x`` itself.

    Neurons call it on their input so that under ``--amp bf16`` the membrane, which accumulates over time
    steps, stays in float32 while the synapses (the matrix products) run in bf16. Outside autocast an
    explicitly half-precision input is simulated in its own dtype.
    """
    low = x.dtype in (torch.float16, torch.bfloat16)
    return x.float() if low and torch.is_autocast_enabled(x.device.type) else x


def check_time_first(x: torch.Tensor, name: str, min_dims: int = 3) -> None:
    """Raise unless ``x`` is a tensor with at least ``min_dims`` dims ``[T, B, ...]``, ``T >= 1``, ``B >= 1``.

    Raises:
        InputError: ``x`` is not a tensor.
        ShapeError: too few dims, or an empty time or batch axis.
    """
    if not isinstance(x, torch.Tensor):
        raise InputError(name, f"expected a torch.Tensor, time first, got {type(x).__name__}")
    if x.dim() < min_dims:
        expected = "[T, B, features...]" if min_dims == 3 else f"at least {min_dims} dims, time first"
        raise ShapeError(name, expected, tuple(x.shape))
    if x.shape[TIME_DIM] == 0 or x.shape[BATCH_DIM] == 0:
        raise ShapeError(name, "at least one time step and one sample ([T >= 1, B >= 1, ...])", tuple(x.shape))


def check_float(x: torch.Tensor, name: str) -> None:
    """Raise :class:`InputError` unless ``x`` is float16, bfloat16, float32 or float64."""
    if x.dtype not in FLOAT_DTYPES:
        raise InputError(name, f"expected a floating-point tensor (float32, float64, float16 or bfloat16), got "
                         f"{x.dtype}; convert spikes or counts with .float()")


def all_finite(x: torch.Tensor) -> bool:
    """Whether ``x`` holds no NaN or inf, in one reduction where it does not.

    The sum is finite exactly when every element is and nothing overflows (NaN and inf propagate; inf - inf
    is NaN), so a finite sum answers at once; only a non-finite sum pays the elementwise test, which tells
    an overflow of finite values from NaN or inf. No bool temporary: on a ``[100, 64, 1024]`` float32 input
    with 2 threads the sum took 0.27 ms and ``isfinite(x).all()`` 8.7 ms (torch 2.13, this project's machine).
    """
    return bool(torch.isfinite(x.sum())) or bool(torch.isfinite(x).all())


def check_neuron_input(x: torch.Tensor, name: str) -> None:
    """:func:`check_time_first` (2 dims or more), a floating dtype, and finite values (see the module docstring).

    Raises:
        InputError: not float16/bfloat16/float32/float64, or NaN/inf outside :func:`allow_non_finite`.
        ShapeError: as :func:`check_time_first`.
    """
    check_time_first(x, name, min_dims=2)
    check_float(x, name)
    if _check_finite and not all_finite(x):
        raise NonFiniteInputError(name, "holds NaN or inf; a neuron cannot integrate them (wrap the call in "
                         "spikegrad.types.allow_non_finite() to pass them on purpose)")


@contextlib.contextmanager
def allow_non_finite() -> Iterator[None]:
    """Inside the ``with`` block neurons accept NaN and inf input (NaN gives no spike, +inf always fires)."""
    global _check_finite
    before, _check_finite = _check_finite, False
    try:
        yield
    finally:
        _check_finite = before
