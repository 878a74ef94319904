"""``torchrun`` runs the normal training on several processes (gloo): the same weights as one process.

Each test starts real processes with ``python -m torch.distributed.run`` (torchrun) on this checkout's
``src``. With dense synapses, what differs from one process with the same global batch is floating-point
summation order only (gradients summed over shares, the shares' losses weighted and summed): the weights
agree to float32 rounding, checked with ``assert_close``'s float32 tolerances, and the metrics to 1e-5.

With ``synapse_mode=auto`` (the default) each Dense synapse also chooses per call between the dense product
and the event path from the sampled density of that call's input, which differs between a share and the
whole batch (``event_synapse_share`` in ``summary.json`` differs); both paths are exact to float rounding
but round differently, and one epoch of Adam amplifies that to about 1e-4 in a few weights of ``digits``.
That case is checked to within half of one Adam step (lr 2e-3): 1e-3 in any weight and metric. The test of
every rule on three processes trains with SGD, where rounding grows more (NA's backward re-simulates
thresholded membranes): it allows 1e-4.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from spikegrad.train import Trainer, build_experiment, get_recipe, read_config
from spikegrad.train.recipe_parts import CLASSIFIERS
from spikegrad.train.run_dir import RUN_FILES

SRC = Path(__file__).resolve().parents[2] / "src"
WORKER = Path(__file__).with_name("torchrun_worker.py")


def torchrun(processes: int, *args: str, cwd: Path, returncode: int = 0) -> subprocess.CompletedProcess:
    """``torchrun --standalone --nproc_per_node processes ARGS`` with this checkout's package first on the path,
    checked to exit with ``returncode``."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}", *args]
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == returncode, done.stdout[-3000:] + done.stderr[-3000:]
    return done


FLOAT32_ROUNDING = {}  # assert_close's float32 tolerances; metrics to 1e-5
HALF_AN_ADAM_STEP = {"atol": 1e-3, "rtol": 0.0}
ONE_EPOCH_OF_ROUNDING = {"atol": 1e-4, "rtol": 1e-4}
"""Rounding amplified by an epoch of SGD at lr 0.05 (NA, whose backward re-simulates thresholded membranes, reaches
about 2e-5); a wrongly weighted share's loss moves weights by 1e-3 and more."""


def assert_same_weights(run: Path, reference: Path, tolerance: dict[str, float] = FLOAT32_ROUNDING) -> None:
    weights, expected = load_file(run / "model.safetensors"), load_file(reference / "model.safetensors")
    assert weights.keys() == expected.keys()
    for name in expected:
        torch.testing.assert_close(weights[name], expected[name], **tolerance, msg=lambda m, name=name: f"{run.name} {name}: {m}")


def metrics(run: Path) -> list[dict[str, float]]:
    with open(run / "metrics.csv") as handle:
        return [{k: float(v) for k, v in row.items() if k != "epoch_seconds"} for row in csv.DictReader(handle)]


def assert_same_metrics(run: Path, reference: Path, tolerance: dict[str, float] = FLOAT32_ROUNDING) -> None:
    got, expected = metrics(run), metrics(reference)
    assert [row.keys() for row in got] == [row.keys() for row in expected]
    for row, want in zip(got, expected):
        assert row == pytest.approx(want, abs=tolerance.get("atol", 1e-5)), run.name


pytestmark = pytest.mark.usefixtures("one_thread")  # one thread, as torchrun gives each of its processes


def one_process(overrides: dict[str, str], run_dir: Path, cut_in_epoch: int | None = None) -> None:
    trainer = Trainer(build_experiment(get_recipe("digits").configure(overrides)), run_dir)
    if cut_in_epoch is None:
        trainer.fit()
        return
    from torchrun_worker import cut_in_epoch as cut

    with pytest.raises(KeyboardInterrupt):
        cut(trainer, cut_in_epoch).fit()


@pytest.mark.parametrize(("synapse_mode", "tolerance"), [("dense", FLOAT32_ROUNDING), ("auto", HALF_AN_ADAM_STEP)])
def test_torchrun_two_processes_train_digits_as_one_process_does(tmp_path, synapse_mode, tolerance):
    """The acceptance test: ``torchrun --nproc_per_node 2 -m spikegrad train digits`` for one epoch (module
    docstring: what differs in each synapse mode)."""
    done = torchrun(2, "-m", "spikegrad", "train", "digits", "--epochs", "1", "--set", f"synapse_mode={synapse_mode}",
                    "--out", "two", cwd=tmp_path)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["two"]  # one run directory, nothing else
    assert sorted(path.name for path in (tmp_path / "two").iterdir()) == sorted(RUN_FILES)
    assert done.stderr.count("epoch 1/1") == 1  # rank 0 alone prints
    assert json.loads((tmp_path / "two" / "summary.json").read_text())["processes"] == 2

    one_process({"epochs": "1", "synapse_mode": synapse_mode}, tmp_path / "one")
    assert read_config(tmp_path / "two" / "config.yaml") == read_config(tmp_path / "one" / "config.yaml")
    assert_same_weights(tmp_path / "two", tmp_path / "one", tolerance)
    assert_same_metrics(tmp_path / "two", tmp_path / "one", tolerance)


def test_a_run_directory_rank_0_refuses_stops_every_process_with_its_message(tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("an earlier run's notes")
    done = torchrun(2, "-m", "spikegrad", "train", "digits", "--epochs", "1", "--out", "taken", cwd=tmp_path,
                    returncode=1)
    assert "error: option '--out': taken already holds files (notes.txt)" in done.stderr  # rank 0
    assert "error: rank 0 stopped: option '--out': taken already holds files" in done.stderr  # rank 1, not a hang
    assert "[rank1]: Traceback" not in done.stderr
    assert sorted(path.name for path in (tmp_path / "taken").iterdir()) == ["notes.txt"]


# 89 training samples in global batches of 22 (the last batch: 1 sample, so two of the three processes have an
# empty share), 50 test samples in evaluation chunks of 16 (the last: 2); SGD, whose step (unlike Adam's) scales
# with the gradient, so a wrongly weighted loss shows in the weights; dense synapses (module docstring)
TINY = {"hidden": "[24]", "steps": "6", "train_limit": "89", "test_limit": "50", "batch_size": "22",
        "eval_batch_size": "16", "epochs": "1", "optimizer": "sgd", "lr": "0.05", "synapse_mode": "dense"}


# slow (not in the default run): about one run in four, one of the three processes aborts in gloo ("terminate
# called without an active exception") right after the simulated Ctrl-C of the cut run; the numbers it checks
# agree whenever it completes. Open defect, noted on issue 17's closing note.
@pytest.mark.slow
def test_every_rule_trains_alike_on_three_processes_and_resumes_across_process_counts(tmp_path, monkeypatch):
    """Mean losses (rate cross-entropy: bptt, slayer) and sum losses (lee, na) give one process's weights on three
    processes with uneven and empty shares; a run cut after one epoch continues on another number of processes."""
    monkeypatch.syspath_prepend(str(WORKER.parent))
    for method in CLASSIFIERS:
        one_process({**TINY, "method": method}, tmp_path / "one" / method)
    two_epochs = {**TINY, "epochs": "2"}
    one_process(two_epochs, tmp_path / "one" / "two-epochs")
    one_process(two_epochs, tmp_path / "three" / "one-then-three", cut_in_epoch=2)

    torchrun(3, str(WORKER), str(tmp_path / "three"), json.dumps(TINY), cwd=tmp_path)
    assert sorted(path.name for path in (tmp_path / "three").iterdir()) == sorted(
        [*CLASSIFIERS, "one-then-three", "three-then-one"])  # no rank > 0 wrote its run directory
    Trainer(build_experiment(read_config(tmp_path / "three" / "three-then-one" / "config.yaml")),
            tmp_path / "three" / "three-then-one").fit(resume=True)

    for method in CLASSIFIERS:
        assert_same_weights(tmp_path / "three" / method, tmp_path / "one" / method, ONE_EPOCH_OF_ROUNDING)
        assert_same_metrics(tmp_path / "three" / method, tmp_path / "one" / method, ONE_EPOCH_OF_ROUNDING)
    for resumed in ("one-then-three", "three-then-one"):
        assert_same_weights(tmp_path / "three" / resumed, tmp_path / "one" / "two-epochs", ONE_EPOCH_OF_ROUNDING)
        assert_same_metrics(tmp_path / "three" / resumed, tmp_path / "one" / "two-epochs", ONE_EPOCH_OF_ROUNDING)
