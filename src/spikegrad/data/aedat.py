"""AEDAT 3.1 polarity events (iniVation/cAER format; the DVS128 Gesture release).

Layout (DVS Gesture README; inivation.com file-format docs):

- ASCII header lines, each starting with ``#``; the first is ``#!AER-DAT3.1``, the last ``#!END-HEADER``
  (lines end with ``\\r\\n``).
- Then packets, each a 28-byte little-endian header ``uint16 eventType, uint16 eventSource,
  uint32 eventSize, uint32 eventTSOffset, uint32 eventTSOverflow, uint32 eventCapacity,
  uint32 eventNumber, uint32 eventValid`` followed by ``eventNumber * eventSize`` bytes of events.
- Polarity packets (``eventType == 1``) hold 8-byte events ``uint32 data, int32 timestamp`` (µs, 31 bits):
  ``x = (data >> 17) & 0x1FFF``, ``y = (data >> 2) & 0x1FFF``, ``p = (data >> 1) & 1``, and bit 0 is the
  validity mark. The full timestamp is ``(eventTSOverflow << 31) | timestamp``.

Events whose validity bit is 0 (invalidated by a filter in cAER) are dropped; other packet types are
skipped. Every length, field and coordinate is checked: a truncated or corrupt file raises
:class:`~spikegrad.errors.DataFormatError` with the byte offset of the fault.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np

from spikegrad.data.events import EVENT_DTYPE, make_events
from spikegrad.data.fileio import read_file_bytes
from spikegrad.errors import ConfigError, DataFormatError

VERSION_LINE = b"#!AER-DAT3.1"
END_HEADER = b"#!END-HEADER\r\n"
PACKET_HEADER = struct.Struct("<HHIIIIII")
POLARITY_EVENT = 1
POLARITY_SIZE = 8
TIMESTAMP_OFFSET = 4
DVS128_SENSOR = (128, 128)
ADDRESS_MASK = 0x1FFF
MAX_TIMESTAMP = (1 << 31) - 1


def _header_end(data: bytes, path: str | os.PathLike) -> int:
    """Byte offset of the first packet, after checking the ASCII header."""
    if not data.startswith(VERSION_LINE):
        raise DataFormatError(path, f"not an AEDAT 3.1 file: it must start with {VERSION_LINE.decode()!r}", offset=0)
    end = data.find(END_HEADER)
    if end < 0:
        line = END_HEADER.decode().strip()
        raise DataFormatError(path, f"the header has no {line!r} line (truncated header?)", offset=len(data))
    offset = 0
    for line in data[:end].split(b"\n"):
        if line and not line.startswith(b"#"):
            raise DataFormatError(path, "a header line does not start with '#'", offset=offset)
        offset += len(line) + 1
    return end + len(END_HEADER)


def decode_aedat31(data: bytes, path: str | os.PathLike, sensor_size: tuple[int, int] = DVS128_SENSOR) -> np.ndarray:
    """Polarity events of the AEDAT 3.1 bytes ``data`` (read from ``path``, named in errors).

    Raises:
        DataFormatError: bad header, a packet header or body cut short, inconsistent packet fields,
            an event outside the ``(width, height)`` sensor, timestamps that decrease, or no valid
            polarity event at all (a file with only its header).
    """
    offset = _header_end(data, path)
    chunks = []
    last_t = -1
    while offset < len(data):
        if len(data) - offset < PACKET_HEADER.size:
            left = f"{len(data) - offset} of {PACKET_HEADER.size} bytes"
            raise DataFormatError(path, f"truncated packet header ({left})", offset=offset)
        kind, _, size, ts_offset, overflow, capacity, number, valid = PACKET_HEADER.unpack_from(data, offset)
        body = offset + PACKET_HEADER.size
        if valid > number or number > capacity:
            fields = f"eventValid={valid}, eventNumber={number}, eventCapacity={capacity}"
            raise DataFormatError(path, f"corrupt packet header: {fields}", offset=offset)
        if kind == POLARITY_EVENT and (size != POLARITY_SIZE or ts_offset != TIMESTAMP_OFFSET):
            fields = f"eventSize={size}, eventTSOffset={ts_offset}"
            raise DataFormatError(path, f"polarity packet with {fields} (expected 8, 4)", offset=offset)
        end = body + number * size
        if end > len(data):
            need = f"{number} events of {size} bytes, only {len(data) - body} left"
            raise DataFormatError(path, f"truncated packet: {need}", offset=body)
        if kind == POLARITY_EVENT and number:
            words = np.frombuffer(data, dtype="<u4", count=2 * number, offset=body).reshape(number, 2).astype(np.int64)
            events, last_t = _polarity(words, overflow, last_t, body, path, sensor_size)
            chunks.append(events)
        offset = end
    events = np.concatenate(chunks) if chunks else np.empty(0, dtype=EVENT_DTYPE)
    if not len(events):
        raise DataFormatError(
            path, "no valid polarity events after the header (an empty recording); expected at least one",
            offset=len(data),
        )
    return events


def _polarity(
    words: np.ndarray, overflow: int, last_t: int, body: int, path: str | os.PathLike, sensor_size: tuple[int, int]
) -> tuple[np.ndarray, int]:
    """Decode one packet's ``[N, 2]`` (data, timestamp) words; returns the valid events and the last time."""
    address, stamp = words[:, 0], words[:, 1]
    keep = np.flatnonzero(address & 1)
    if np.any(stamp > MAX_TIMESTAMP):
        i = int(np.flatnonzero(stamp > MAX_TIMESTAMP)[0])
        raise DataFormatError(path, f"timestamp {stamp[i]} has bit 31 set", offset=body + POLARITY_SIZE * i)
    x = (address[keep] >> 17) & ADDRESS_MASK
    y = (address[keep] >> 2) & ADDRESS_MASK
    p = (address[keep] >> 1) & 1
    t = (int(overflow) << 31) | stamp[keep]
    outside = np.flatnonzero((x >= sensor_size[0]) | (y >= sensor_size[1]))
    if outside.size:
        i = outside[0]
        where = f"({x[i]}, {y[i]}) lies outside the {sensor_size[0]}x{sensor_size[1]} sensor"
        raise DataFormatError(path, f"event at {where}", offset=body + POLARITY_SIZE * int(keep[i]))
    previous = np.concatenate([[last_t], t[:-1]])
    backwards = np.flatnonzero(t < previous)
    if backwards.size:
        i = backwards[0]
        message = f"timestamp decreases from {previous[i]} to {t[i]} us"
        raise DataFormatError(path, message, offset=body + POLARITY_SIZE * int(keep[i]))
    return make_events(x, y, t, p), (int(t[-1]) if t.size else last_t)


def read_aedat31(path: str | os.PathLike, sensor_size: tuple[int, int] = DVS128_SENSOR) -> np.ndarray:
    """Read the polarity events of an AEDAT 3.1 file (see the module docstring).

    Raises:
        DataNotFoundError: the file does not exist.
        DataFormatError: not a regular file, or as :func:`decode_aedat31`.
    """
    return decode_aedat31(read_file_bytes(path, "AEDAT 3.1 file"), path, sensor_size)


def encode_aedat31(events: np.ndarray, packet_events: int = 4096, source: int = 1) -> bytes:
    """AEDAT 3.1 bytes holding ``events`` as polarity packets of up to ``packet_events`` events.

    Timestamps (µs, non-decreasing, ``>= 0``) are split into ``eventTSOverflow << 31 | timestamp``;
    every event is written valid.
    """
    if packet_events < 1:
        raise ConfigError("packet_events", f"must be >= 1, got {packet_events}")
    x, y, p, t = (events[f].astype(np.int64) for f in ("x", "y", "p", "t"))
    bad = (x < 0) | (x > ADDRESS_MASK) | (y < 0) | (y > ADDRESS_MASK) | ((p != 0) & (p != 1)) | (t < 0)
    if bad.any() or np.any(np.diff(t) < 0):
        raise ConfigError("events", "AEDAT 3.1 needs 0 <= x, y < 8192, p in {0, 1}, and non-decreasing t >= 0")
    parts = [VERSION_LINE + b"\r\n", b"#Format: RAW\r\n", b"#Source 1: DVS128\r\n", END_HEADER]
    overflow = t >> 31
    start = 0
    while start < len(t):
        stop = min(start + packet_events, len(t))
        stop = start + int(np.searchsorted(overflow[start:stop], overflow[start], side="right"))  # one overflow value
        count = stop - start
        header = (POLARITY_EVENT, source, POLARITY_SIZE, TIMESTAMP_OFFSET, int(overflow[start]), count, count, count)
        parts.append(PACKET_HEADER.pack(*header))
        address = (x[start:stop] << 17) | (y[start:stop] << 2) | (p[start:stop] << 1) | 1
        parts.append(np.stack([address, t[start:stop] & MAX_TIMESTAMP], axis=1).astype("<u4").tobytes())
        start = stop
    return b"".join(parts)


def write_aedat31(path: str | os.PathLike, events: np.ndarray, packet_events: int = 4096) -> None:
    """Write ``events`` as an AEDAT 3.1 file (see :func:`encode_aedat31`)."""
    Path(path).write_bytes(encode_aedat31(events, packet_events))
