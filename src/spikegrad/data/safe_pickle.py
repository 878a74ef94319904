"""Load pickled numpy data without running arbitrary code.

A pickle can name any importable callable and have it called while loading (``os.system`` for
instance). :func:`load_numpy_pickle` uses an unpickler whose ``find_class`` resolves only the
globals that pickled numpy arrays need, so a file can rebuild arrays, lists, dicts, strings and
numbers, and nothing else.
"""

from __future__ import annotations

import io
import pickle
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

_LATIN1_NAMES = frozenset({"latin1", "latin-1", "latin_1", "iso-8859-1", "iso8859-1"})


def _latin1_encode(text: str, encoding: str = "latin1") -> bytes:
    """Stand-in for ``_codecs.encode`` that only does what bytes pickling needs: text -> latin-1."""
    if not (isinstance(text, str) and isinstance(encoding, str) and encoding.lower() in _LATIN1_NAMES):
        raise ValueError(f"_codecs.encode is only allowed for str -> latin1, got {type(text).__name__} -> {encoding!r}")
    return text.encode("latin1")


# (module, name) as written in the pickle -> the object it may resolve to. Python 2 and numpy 1.x
# pickles say ``numpy.core``; numpy 2 writes ``numpy._core``; protocol 5 uses ``_frombuffer``;
# Python 3 protocol <= 2 pickles store bytes as ``_codecs.encode(text, "latin1")``.
ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy.core.numeric", "_frombuffer"): _frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _frombuffer,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): _latin1_encode,
}


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that refuses every global outside :data:`ALLOWED_GLOBALS`."""

    def __init__(self, file: io.BytesIO, path: Path):
        super().__init__(file, encoding="bytes")
        self._path = path

    def find_class(self, module: str, name: str) -> Any:
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            allowed = ", ".join(f"{m}.{n}" for m, n in ALLOWED_GLOBALS)
            raise DataFormatError(
                self._path, f"pickle refers to the global {module}.{name}, which is refused; "
                f"only numpy array data is allowed ({allowed})",
            ) from None


def load_numpy_pickle(path: Path, data: bytes) -> Any:
    """Unpickle ``data`` (read from ``path``) with Python-2 strings kept as bytes.

    Returns:
        The unpickled object. Dict keys that were Python 2 ``str`` come back as ``bytes``.

    Raises:
        DataFormatError: the pickle names a refused global, or is truncated or malformed.
    """
    try:
        return _RestrictedUnpickler(io.BytesIO(data), path).load()
    except DataFormatError:
        raise
    except Exception as exc:  # a malformed pickle can fail in any of a dozen exception types
        raise DataFormatError(path, f"not a valid pickle ({type(exc).__name__}: {exc})") from exc
