"""fileio: the regular-file check, size limits, the gzip stream with its expansion bound, lines, text files."""

from __future__ import annotations

import gzip
import os
import re
import threading
from pathlib import Path

import pytest

from spikegrad.data import fileio
from spikegrad.data.fileio import (
    GZIP_MAX_RATIO,
    open_data_stream,
    open_regular_file,
    read_file_bytes,
    read_text_lines,
    regular_file_size,
)  # fmt: skip
from spikegrad.errors import DataFormatError, DataNotFoundError


def test_regular_file_size_and_symlinks(tmp_path):
    (tmp_path / "a").write_bytes(b"12345")
    (tmp_path / "link").symlink_to(tmp_path / "a")
    assert regular_file_size(tmp_path / "a", "x") == regular_file_size(tmp_path / "link", "x") == 5


@pytest.mark.parametrize(
    ("make", "kind"),
    [(os.mkfifo, "a FIFO (named pipe)"), (os.mkdir, "a folder"), (lambda p: p.symlink_to("/dev/null"), "a character device")],
)
def test_regular_file_size_names_what_it_found(tmp_path, make, kind):
    path = tmp_path / "data"
    make(path)
    with pytest.raises(DataFormatError, match=re.escape(f"labels: expected a regular file, found {kind}")) as err:
        regular_file_size(path, "labels")
    assert err.value.path == path and not isinstance(err.value, DataNotFoundError)


def test_missing_file_is_data_not_found(tmp_path):
    with pytest.raises(DataNotFoundError, match="labels: file not found"):
        regular_file_size(tmp_path / "nope", "labels")


def test_a_fifo_swapped_in_after_the_check_neither_blocks_nor_is_read(tmp_path, monkeypatch):
    path = tmp_path / "data"
    os.mkfifo(path)
    monkeypatch.setattr(fileio, "regular_file_size", lambda *args: 0)  # the check passed, then the file changed
    outcome = []
    worker = threading.Thread(target=lambda: outcome.append(_raised(lambda: open_regular_file(path, "x"))), daemon=True)
    worker.start()
    worker.join(5)
    assert not worker.is_alive(), "opening the FIFO blocked"
    assert isinstance(outcome[0], DataFormatError) and "found a FIFO" in str(outcome[0])


def _raised(call):
    try:
        call()
    except BaseException as exc:  # noqa: BLE001 - returned to the test
        return exc
    return None


def test_size_limit_is_checked_before_reading(tmp_path, refused_cheaply):
    path = tmp_path / "sparse"
    with path.open("wb") as out:
        out.truncate(2 << 30)  # 2 GiB that were never written (a sparse file)
    refused_cheaply(lambda: read_file_bytes(path, "batch", max_bytes=1 << 20), DataFormatError,
                    r"batch: the file is 2147483648 bytes, more than the 1048576-byte limit")
    (tmp_path / "small").write_bytes(b"abc")
    assert read_file_bytes(tmp_path / "small", "batch", max_bytes=3) == b"abc"


# --- DataStream ---------------------------------------------------------------------------------


@pytest.mark.parametrize("gz", [False, True])
def test_stream_reads_the_same_bytes_raw_or_gzip(tmp_path, gz):
    data = bytes(range(256)) * 5000
    path = tmp_path / "data.bin"  # the name says nothing: gzip is recognised by its magic bytes
    path.write_bytes(gzip.compress(data) if gz else data)
    with open_data_stream(path, "x") as stream:
        assert stream.gz is gz and stream.stream_name == ("the decompressed stream" if gz else "the file")
        assert stream.read(10) == data[:10]
        assert bytes(stream.read_array(2_000_000)) == data[10:]  # asks for more: gets the rest
        assert stream.position == len(data) and stream.read(5) == b"" and stream.count_rest() == 0


def test_capacity_is_the_file_size_or_the_deflate_bound(tmp_path):
    (tmp_path / "raw").write_bytes(bytes(100))
    (tmp_path / "gz").write_bytes(gzip.compress(bytes(100)))
    with open_data_stream(tmp_path / "raw", "x") as raw, open_data_stream(tmp_path / "gz", "x") as gz:
        assert raw.capacity == 100 and gz.capacity == gz.stored_size * GZIP_MAX_RATIO
        raw.check_declared(100, "fits")
        with pytest.raises(DataFormatError, match=r"x: truncated: 101 bytes needed \(bytes 0..101 of the file\)") as err:
            raw.check_declared(101, "101 bytes needed")
        assert err.value.offset == 100
        with pytest.raises(DataFormatError, match=f"decompresses to at most {gz.capacity} bytes"):
            gz.check_declared(gz.capacity + 1, "too many")


def test_deflate_cannot_beat_the_ratio_bound():
    """The bound is sound: the best case of deflate (one byte repeated) stays under it."""
    for size in (1 << 16, 1 << 20, 16 << 20):
        assert len(gzip.compress(bytes(size), compresslevel=9)) * GZIP_MAX_RATIO >= size


def test_stream_limit(tmp_path):
    (tmp_path / "a").write_bytes(gzip.compress(bytes(5000)))
    longer = "x: the decompressed stream is longer than the 4000-byte limit"
    with open_data_stream(tmp_path / "a", "x", max_bytes=4000) as stream, pytest.raises(DataFormatError, match=longer):
        stream.read(4500)
    with open_data_stream(tmp_path / "a", "x", max_bytes=4000) as stream, pytest.raises(DataFormatError, match="more than"):
        stream.check_declared(4001, "4001 bytes")


def test_count_rest(tmp_path):
    (tmp_path / "raw").write_bytes(bytes(70_000))
    (tmp_path / "gz").write_bytes(gzip.compress(bytes(70_000)))
    for name in ("raw", "gz"):
        with open_data_stream(tmp_path / name, "x") as stream:
            stream.read(69_990)
            assert stream.count_rest() == 10
    with open_data_stream(tmp_path / "gz", "x") as stream:
        assert stream.count_rest() is None  # more than the 64 KiB probe


@pytest.mark.parametrize(
    ("damage", "match", "offset"),
    [(lambda z: z[:-10], "gzip stream is truncated", "end"), (lambda z: z[:-6] + b"\xff" + z[-5:], "corrupt gzip", None),
     (lambda z: z + b"junk that is not gzip", "corrupt gzip", None)],
)
def test_gzip_faults(tmp_path, damage, match, offset):
    packed = damage(gzip.compress(bytes(range(256)) * 40))
    (tmp_path / "a").write_bytes(packed)
    with open_data_stream(tmp_path / "a", "x") as stream, pytest.raises(DataFormatError, match=match) as err:
        stream.read(1 << 20)
    assert err.value.offset == (len(packed) if offset == "end" else None)


def test_lines(tmp_path):
    (tmp_path / "a").write_bytes(gzip.compress(b"ab\r\ncd\n\nlast"))
    with open_data_stream(tmp_path / "a", "x") as stream:
        assert list(stream.lines(10)) == [(1, 0, b"ab"), (2, 4, b"cd"), (3, 7, b""), (4, 8, b"last")]


@pytest.mark.parametrize("content", [b"0123456789\nshort\n", b"0123456789", b"0123456789" * 500_000])
def test_a_line_over_the_limit_stops_the_stream(tmp_path, content):
    (tmp_path / "a").write_bytes(b"ok\n" + content)
    too_long = "x: line 2 is longer than 9 bytes"
    with open_data_stream(tmp_path / "a", "x") as stream, pytest.raises(DataFormatError, match=too_long) as err:
        list(stream.lines(9))
    assert err.value.offset == 3


def test_read_text_lines(tmp_path):
    (tmp_path / "a").write_bytes(b"# head\r\n1\t5\r\n\xff2 3\rlast")
    assert read_text_lines(tmp_path / "a", "list") == [
        (1, 0, "# head"), (2, 8, "1\t5"), (3, 13, "\ufffd2 3"), (4, 18, "last"),
    ]  # fmt: skip
    with pytest.raises(DataFormatError, match="more than the 10-byte limit"):
        read_text_lines(tmp_path / "a", "list", max_bytes=10)


def test_paths_as_strings(tmp_path):
    (tmp_path / "a").write_bytes(b"xyz")
    assert read_file_bytes(str(tmp_path / "a"), "x") == b"xyz"
    with open_data_stream(str(tmp_path / "a"), "x") as stream:
        assert isinstance(stream.path, Path) and stream.read(3) == b"xyz"
