"""``benchmarks/gpu_check.py --toy`` runs end to end on the CPU (Triton's interpreter) and reports every row."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_gpu_check_runs_at_toy_sizes(tmp_path, triton_kernels):
    out = tmp_path / "toy.json"
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_check.py"), "--toy", "--out", str(out)],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path, check=False,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads(out.read_text())
    rows = {r["name"]: r for r in report["rows"]}
    assert report["mode"] == "toy" and not [r for r in report["rows"] if r["status"] == "FAIL"]
    assert [r["status"] for r in report["rows"] if r["section"] == "parity"] == ["PASS"] * 7
    for rule in ("digits bptt", "digits slayer", "digits lee", "digits na", "normad-xor normad"):
        assert rows[f"{rule}: one epoch"]["status"] == "PASS"
    for size in ("2x4", "2x8", "3x12"):  # the acceptance rows of every size, CUDA-only columns skipped with a reason
        assert rows[f"fp32 {size}: faster than SpikingJelly"]["status"] == "SKIP"
        assert "CUDA-only" in rows[f"fp32 {size}: faster than SpikingJelly"]["note"]
        assert rows[f"tf32 {size}"]["note"] == "TF32 is CUDA-only"
        assert rows[f"bf16 {size}"]["status"] == "INFO" and "logits rel err" in rows[f"bf16 {size}"]["result"]
        assert float(report["benchmark"][size]["spikegrad"]["fp32"]["ms"]) > 0
        assert rows[f"fp32 {size}: event vs dense synapses"]["status"] == "INFO"
        assert float(report["benchmark"][size]["synapse_modes"]["event"]["ms"]) > 0
    assert rows["event-driven fp32 >= 2x SpikingJelly at 5 % input"]["status"] == "SKIP"
    table = done.stdout
    assert table.splitlines()[0].startswith("name") and all(name in table for name in rows)
