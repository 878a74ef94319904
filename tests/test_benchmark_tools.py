"""The issue-14 analysis scripts: ``benchmarks/epoch_profile.py`` sorts ops into kinds and bounds the speed-up;
``benchmarks/heap_trace.py`` runs the benchmark network and reports live memory against the heap."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def load(name: str):
    """Import ``benchmarks/<name>.py``; ``sys.path`` (which the script extends) is restored afterwards."""
    saved = list(sys.path)
    sys.path.insert(0, str(BENCHMARKS))
    try:
        spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path[:] = saved


@pytest.mark.parametrize(("op", "kind"), [
    ("aten::convolution_backward", "dense convolution"),
    ("aten::mkldnn_convolution", "dense convolution"),
    ("aten::mm", "dense matrix products"),
    ("aten::addmm", "dense matrix products"),
    ("aten::_embedding_bag_forward_only", "event synapses (gather, indices)"),
    ("aten::nonzero", "event synapses (gather, indices)"),
    ("aten::avg_pool2d_backward", "pooling"),
    ("aten::uniform_", "random numbers"),
    ("aten::addcmul_", "elementwise and other ops"),
    ("aten::mul", "elementwise and other ops"),
])
def test_epoch_profile_sorts_ops_into_kinds(op, kind):
    assert load("epoch_profile").kind_of(op) == kind


def test_epoch_profile_bound_is_the_epoch_over_its_dense_products():
    profile = load("epoch_profile")
    seconds = {"dense convolution": 3.0, "dense matrix products": 1.0, "pooling": 2.0, profile.OTHER: 2.0}
    row = profile.table({"r": (seconds, 10.0)}).splitlines()[-1]
    assert row.startswith("| `r` | 10.00 | 30 % | 10 % | 0 % | 20 % | 0 % | 20 % | 0 % |")
    assert row.endswith("| 2.50x |")
    assert profile.table({"r": ({"pooling": 1.0}, 2.0)}).splitlines()[-1].endswith("| - |")  # no dense products


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mallinfo2 is glibc's")
def test_heap_trace_reports_live_memory_and_heap_per_iteration():
    done = subprocess.run([sys.executable, str(BENCHMARKS / "heap_trace.py"), "--steps", "3", "--iterations", "2",
                           "--keep-memory", "--show-mib", "0.5"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    peaks = re.findall(r"iteration (\d): peak in use (\d+) MiB, peak heap (\d+) MiB \((\d+) ops\)", done.stdout)
    assert [p[0] for p in peaks] == ["1", "2"]
    assert all(int(in_use) > 0 and int(heap) > 0 and int(ops) > 100 for _, in_use, heap, ops in peaks)
    assert "aten." in done.stdout.split("first iteration")[1]  # the ops where memory moved are listed
