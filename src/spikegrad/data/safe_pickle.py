"""Load pickled numpy data without running arbitrary code and with bounded memory.

A pickle can name any importable callable and have it called while loading (``os.system`` for
instance). :func:`load_numpy_pickle` uses an unpickler whose ``find_class`` resolves only guarded
stand-ins for the globals that pickled numpy arrays need, so a file can rebuild arrays, lists, dicts,
strings and numbers, and nothing else. Around it:

* **Input size**: at most :data:`MAX_PICKLE_BYTES` (256 MiB; a CIFAR-10 batch is about 31 MB).
* **Memo indices**: the pickle's opcodes are scanned first (``pickletools.genops``, which reads
  without building anything). Pickle's C unpickler sizes its memo table by the largest index it is
  given, so a 9-byte pickle with index 2**28 would cost gigabytes; an index is refused unless it is
  below the number of memo entries the pickle stores, which is how every pickler numbers them. The
  scan also checks every counted string against the bytes that remain, before the unpickler would
  reserve memory for it.
* **Arrays hold their data**: ``numpy.ndarray`` itself is never callable from a pickle (called
  directly, it builds arrays of any size over a 1-byte buffer with zero strides); numpy's own
  ``_reconstruct`` may only create the empty array that its ``__setstate__`` then fills and checks,
  and ``_frombuffer`` only arrays whose size equals the buffer's. Every array in the result is
  checked once more: positive strides, no object or zero-size items, data inside its buffer.
* **Python 3 protocol <= 2 bytes**: non-empty bytes are stored as ``_codecs.encode(text, "latin1")``
  and empty ones as ``__builtin__.bytes()`` (numpy writes this for an empty array); both are allowed
  in exactly those forms.
"""

from __future__ import annotations

import io
import math
import pickle
import pickletools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from spikegrad.errors import DataFormatError

try:  # numpy >= 2 (and 1.26 forward-compatibility shims)
    from numpy._core.multiarray import _reconstruct
    from numpy._core.numeric import _frombuffer
except ImportError:  # numpy 1.x
    from numpy.core.multiarray import _reconstruct
    from numpy.core.numeric import _frombuffer

MAX_PICKLE_BYTES = 256 << 20
_LATIN1_NAMES = frozenset({"latin1", "latin-1", "latin_1", "iso-8859-1", "iso8859-1"})
_MEMO_PUTS = frozenset({"PUT", "BINPUT", "LONG_BINPUT"})
_MEMO_GETS = frozenset({"GET", "BINGET", "LONG_BINGET"})


class _Refused(ValueError):
    """A guarded global was used in a way that numpy pickles never use."""


class _Guarded:
    """A callable stand-in for an allowed global: immutable, so a pickle's BUILD cannot alter it."""

    __slots__ = ("_function", "_name")

    def __init__(self, name: str, function: Callable[..., Any]):
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_function", function)

    def __call__(self, *args: Any) -> Any:
        return self._function(*args)

    def __setattr__(self, key: str, value: Any) -> None:
        raise _Refused(f"{self._name} cannot be modified by a pickle")

    def __setstate__(self, state: Any) -> None:
        raise _Refused(f"{self._name} cannot be modified by a pickle")

    def __repr__(self) -> str:
        return f"<guarded {self._name}>"


def _check_dtype(dtype: np.dtype, what: str) -> np.dtype:
    """``dtype``, unless its items are objects or take no bytes (such arrays hold no data of their own)."""
    if dtype.hasobject or dtype.itemsize == 0:
        raise _Refused(f"{what}: dtype {dtype} is refused (object or zero-size items hold no data of their own)")
    return dtype


def _latin1_encode(text: str, encoding: str = "latin1") -> bytes:
    """Stand-in for ``_codecs.encode`` that only does what bytes pickling needs: text -> latin-1."""
    if not (isinstance(text, str) and isinstance(encoding, str) and encoding.lower() in _LATIN1_NAMES):
        raise _Refused(f"_codecs.encode is only allowed for str -> latin1, got {type(text).__name__} -> {encoding!r}")
    return text.encode("latin1")


def _empty_bytes(*args: Any) -> bytes:
    """Stand-in for ``bytes``: only ``bytes()``, as Python 3 protocol <= 2 pickles write ``b""``."""
    if args:
        raise _Refused("__builtin__.bytes is only allowed without arguments (the pickled form of b'')")
    return b""


def _direct_ndarray(*args: Any) -> None:
    """``numpy.ndarray`` as a callable: always refused (it may build arrays over too small buffers)."""
    raise _Refused(
        "numpy.ndarray(shape, dtype, buffer, offset, strides) called directly is refused: it can build an "
        "array of any size over a buffer that does not hold its data (numpy pickles never do this)"
    )


_NDARRAY = _Guarded("numpy.ndarray", _direct_ndarray)


def _reconstruct_empty(subtype: Any, shape: Any, dtype: Any) -> np.ndarray:
    """Stand-in for numpy's ``_reconstruct``: only the empty ndarray that ``__setstate__`` fills."""
    if subtype is not _NDARRAY:
        raise _Refused("numpy _reconstruct may only build numpy.ndarray")
    if not (isinstance(shape, tuple) and all(type(n) is int and n >= 0 for n in shape) and math.prod(shape) == 0):
        raise _Refused(f"numpy _reconstruct with shape {shape!r}; numpy pickles reconstruct an empty array")
    return _reconstruct(np.ndarray, shape, dtype)


def _frombuffer_exact(buffer: Any, dtype: Any, shape: Any, order: Any) -> np.ndarray:
    """Stand-in for numpy's protocol-5 ``_frombuffer``: the buffer must hold exactly the array's data."""
    if not isinstance(buffer, (bytes, bytearray, pickle.PickleBuffer)):
        raise _Refused(f"numpy _frombuffer over a {type(buffer).__name__}, expected bytes")
    dtype = _check_dtype(np.dtype(dtype), "numpy _frombuffer")
    if not (isinstance(shape, tuple) and all(type(n) is int and n >= 0 for n in shape)):
        raise _Refused(f"numpy _frombuffer with shape {shape!r}")
    size = memoryview(buffer).nbytes
    if math.prod(shape) * dtype.itemsize != size:
        raise _Refused(f"numpy _frombuffer: shape {list(shape)} of {dtype} needs "
                       f"{math.prod(shape) * dtype.itemsize} bytes, the buffer holds {size}")
    return _frombuffer(buffer, dtype, shape, order)


# (module, name) as written in the pickle -> the guarded object it resolves to. Python 2 and numpy 1.x
# pickles say ``numpy.core``; numpy 2 writes ``numpy._core``; protocol 5 uses ``_frombuffer``; Python 3
# protocol <= 2 pickles store bytes as ``_codecs.encode(text, "latin1")`` or ``__builtin__.bytes()``.
ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): _Guarded("numpy _reconstruct", _reconstruct_empty),
    ("numpy._core.multiarray", "_reconstruct"): _Guarded("numpy _reconstruct", _reconstruct_empty),
    ("numpy.core.numeric", "_frombuffer"): _Guarded("numpy _frombuffer", _frombuffer_exact),
    ("numpy._core.numeric", "_frombuffer"): _Guarded("numpy _frombuffer", _frombuffer_exact),
    ("numpy", "ndarray"): _NDARRAY,
    ("numpy", "dtype"): _Guarded("numpy.dtype", np.dtype),
    ("_codecs", "encode"): _Guarded("_codecs.encode", _latin1_encode),
    ("__builtin__", "bytes"): _Guarded("bytes", _empty_bytes),
    ("builtins", "bytes"): _Guarded("bytes", _empty_bytes),
}


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that refuses every global outside :data:`ALLOWED_GLOBALS`."""

    def __init__(self, file: io.BytesIO, path: Path):
        super().__init__(file, encoding="bytes")
        self._path = path

    def find_class(self, module: str, name: str) -> Any:
        """The guarded stand-in for ``module.name``, or a DataFormatError for any other global."""
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            allowed = ", ".join(f"{m}.{n}" for m, n in ALLOWED_GLOBALS)
            raise DataFormatError(
                self._path, f"pickle refers to the global {module}.{name}, which is refused; "
                f"only numpy array data is allowed ({allowed})",
            ) from None


def _check_opcodes(path: Path, data: bytes) -> None:
    """Scan the opcodes without building anything: well-formed, and memo indices within bounds."""
    stored, highest, where = 0, -1, 0
    try:
        for opcode, arg, position in pickletools.genops(data):
            if (opcode.name in _MEMO_PUTS or opcode.name in _MEMO_GETS) and arg > highest:
                highest, where = arg, position
            if opcode.name in _MEMO_PUTS or opcode.name == "MEMOIZE":
                stored += 1
    except Exception as exc:  # genops raises ValueError (and subclasses) for every malformed opcode
        raise DataFormatError(path, f"not a valid pickle ({type(exc).__name__}: {exc})") from exc
    if highest >= stored:
        raise DataFormatError(
            path, f"not a valid pickle: memo index {highest}, but the pickle stores only {stored} memo "
            f"entries (indices 0..{stored - 1}); refused before allocating a memo table that large",
            offset=where,
        )


def _walk(obj: Any) -> Iterator[Any]:
    """Every object inside ``obj`` (containers followed iteratively, each visited once)."""
    stack, seen = [obj], set()
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            stack.extend(item)


def _buffer_bytes(array: np.ndarray) -> int:
    """Size in bytes of the memory that ``array``'s data lives in (its outermost base)."""
    base: Any = array
    while isinstance(base, np.ndarray) and base.base is not None:
        base = base.base
    if isinstance(base, np.ndarray):
        return base.nbytes
    try:
        return memoryview(base).nbytes
    except TypeError:
        raise _Refused(f"array data lives in a {type(base).__name__}, which is not a buffer") from None


def _check_arrays(path: Path, obj: Any) -> None:
    """Refuse any array in ``obj`` that does not hold its own data (defence in depth)."""
    for item in _walk(obj):
        if not isinstance(item, np.ndarray):
            continue
        try:
            if item.size:
                _check_dtype(item.dtype, "array")
            if item.size > 1 and any(s <= 0 for n, s in zip(item.shape, item.strides) if n > 1):
                raise _Refused(f"array {list(item.shape)} with strides {item.strides}; expected positive strides")
            if item.nbytes > _buffer_bytes(item):
                raise _Refused(f"array {list(item.shape)} of {item.nbytes} bytes over a smaller buffer")
        except _Refused as exc:
            raise DataFormatError(path, f"refused pickle: {exc}") from exc


def load_numpy_pickle(path: Path, data: bytes, max_bytes: int = MAX_PICKLE_BYTES) -> Any:
    """Unpickle ``data`` (read from ``path``) with Python-2 strings kept as bytes (see the module docstring).

    Args:
        path: the file the bytes come from, for error messages.
        data: the pickle.
        max_bytes: the largest pickle accepted, :data:`MAX_PICKLE_BYTES` by default.

    Returns:
        The unpickled object. Dict keys that were Python 2 ``str`` come back as ``bytes``.

    Raises:
        DataFormatError: the pickle is too large, malformed or truncated, names a refused global,
            uses an allowed one in a refused way, or has an out-of-bounds memo index.
    """
    if len(data) > max_bytes:
        raise DataFormatError(path, f"pickle of {len(data)} bytes, more than the {max_bytes}-byte limit")
    _check_opcodes(path, data)
    try:
        result = _RestrictedUnpickler(io.BytesIO(data), path).load()
    except DataFormatError:
        raise
    except _Refused as exc:
        raise DataFormatError(path, f"refused pickle: {exc}") from exc
    except Exception as exc:  # a malformed pickle can fail in any of a dozen exception types
        raise DataFormatError(path, f"not a valid pickle ({type(exc).__name__}: {exc})") from exc
    _check_arrays(path, result)
    return result
