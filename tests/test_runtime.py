"""Process-level allocator setting (run in a child process: it changes the whole process)."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

PROBE = """
import resource, torch
from spikegrad.functional import LIFParameters, neuron_scan
from spikegrad.grad import FastSigmoid
from spikegrad.runtime import keep_freed_memory
x = torch.randn(100, 64, 2048, requires_grad=True)  # 52 MB per [T, B, N] tensor: above any mmap threshold
def faults_of_training_steps(steps):
    counts = []
    for _ in range(steps):
        start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        neuron_scan(x, LIFParameters(tau_mem=10.0), FastSigmoid()).spikes.sum().backward()
        counts.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - start)
    return sum(counts[-2:])  # the steady state: the first steps after a change warm up
before = faults_of_training_steps(4)
applied = keep_freed_memory()
after = faults_of_training_steps(7)
print(applied, before, after)
"""


ON_GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"


@pytest.mark.skipif(not ON_GLIBC, reason="mallopt settings exist only in glibc (Linux); elsewhere see the next test")
def test_keep_freed_memory_stops_page_faults_of_repeated_steps():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True).stdout.split()
    applied, before, after = out[0] == "True", int(out[1]), int(out[2])
    assert applied
    # by default glibc maps fresh pages for the big tensors of every step (~12800 faults per 52 MB tensor);
    # told to keep freed memory, it hands back pages that are already mapped
    assert before > 20_000, before
    assert after < before / 5, (before, after)


def test_keep_freed_memory_changes_nothing_off_linux(monkeypatch):
    from spikegrad import runtime

    monkeypatch.setattr(runtime.sys, "platform", "darwin")
    assert runtime.keep_freed_memory() is False


def test_cli_accepts_release_memory(tmp_path):
    from typer.testing import CliRunner

    from spikegrad.cli import app

    result = CliRunner().invoke(app, ["eval", str(tmp_path / "missing"), "--release-memory"])
    assert result.exit_code == 1 and "config.yaml" in result.output
