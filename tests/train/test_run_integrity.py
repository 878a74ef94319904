"""Nothing lost (issue 18): no run overwritten by --out, checksummed checkpoint and weights that never
disagree, non-finite state never saved nor loaded, and one-line errors for corrupt run directories."""

from __future__ import annotations

import hashlib
import io

import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

from spikegrad.cli import app
from spikegrad.errors import CheckpointError
from spikegrad.train import Trainer, apply_overrides, build_experiment, get_recipe
from spikegrad.train import trainer as trainer_module
from spikegrad.train.checkpoint import (
    CHECKPOINT,
    MAGIC,
    WEIGHTS,
    load_checkpoint,
    load_weights,
    read_weights,
    save_weights,
)

runner = CliRunner()
SMALL = {"hidden": "[4]", "steps": "3", "train_limit": "40", "test_limit": "20", "batch_size": "20"}
CLI_SMALL = [arg for key, value in SMALL.items() for arg in ("--set", f"{key}={value}")]


def _config(epochs: int = 2, **extra: str):
    return apply_overrides(get_recipe("digits").defaults, {**SMALL, "epochs": str(epochs), **extra})


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("run")
    Trainer(build_experiment(_config()), run_dir).fit()
    return run_dir


def _files(run_dir):
    return {path.name: path.read_bytes() for path in sorted(run_dir.iterdir())}


# -- --out onto an existing run -----------------------------------------------------------------------------
def test_out_onto_an_existing_run_is_refused_and_leaves_it_intact(tmp_path):
    run_dir = tmp_path / "run"
    assert runner.invoke(app, ["train", "--epochs", "1", "--out", str(run_dir), *CLI_SMALL]).exit_code == 0
    before = _files(run_dir)
    result = runner.invoke(app, ["train", "--epochs", "1", "--seed", "7", "--out", str(run_dir), *CLI_SMALL])
    assert result.exit_code == 1 and "already holds files" in result.output and "--overwrite" in result.output
    assert "Traceback" not in result.output
    assert _files(run_dir) == before

    (run_dir / "eval-test.json").write_text("{}")
    (run_dir / "notes.txt").write_text("mine")
    result = runner.invoke(app, ["train", "--epochs", "1", "--seed", "7", "--out", str(run_dir), "--overwrite", *CLI_SMALL])
    assert result.exit_code == 0, result.output
    assert (run_dir / "notes.txt").read_text() == "mine"  # only the run's own files are replaced
    assert not (run_dir / "eval-test.json").exists()  # the old run's evaluation went with it
    assert (run_dir / CHECKPOINT).read_bytes() != before[CHECKPOINT]
    assert "seed: 7" in (run_dir / "config.yaml").read_text()


def test_an_out_that_is_a_file_or_cannot_be_created_is_one_line(tmp_path):
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    for out, message in ((a_file, "is a file"), (a_file / "run", "cannot create the run directory")):
        result = runner.invoke(app, ["train", "--epochs", "1", "--out", str(out), *CLI_SMALL])
        assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output
    assert a_file.read_text() == "x"


def test_resume_takes_no_overwrite(tmp_path):
    result = runner.invoke(app, ["train", "--resume", str(tmp_path), "--overwrite"])
    assert result.exit_code == 1 and "--resume" in result.output


# -- checksums ------------------------------------------------------------------------------------------
def test_every_byte_of_the_checkpoint_is_checked(finished_run, tmp_path):
    data = (finished_run / CHECKPOINT).read_bytes()
    assert data.startswith(MAGIC) and hashlib.sha256(data[40:]).digest() == data[8:40]
    load_checkpoint(finished_run)
    for index in range(len(data)):  # one bit per byte, cycling through the bit positions
        flipped = bytearray(data)
        flipped[index] ^= 1 << (index % 8)
        (tmp_path / CHECKPOINT).write_bytes(bytes(flipped))
        with pytest.raises(CheckpointError, match="checksum mismatch|not a spikegrad checkpoint"):
            load_checkpoint(tmp_path)


def _flips(data: bytes, every_bit_below: int):
    """One flipped bit per byte (cycling the bit position), every bit of the first ``every_bit_below`` bytes."""
    for index in range(len(data)):
        for bit in range(8) if index < every_bit_below else (index % 8,):
            flipped = bytearray(data)
            flipped[index] ^= 1 << bit
            yield index, bit, bytes(flipped)


def test_every_byte_of_the_weights_file_is_checked(finished_run, tmp_path):
    data = (finished_run / WEIGHTS).read_bytes()
    tensors, epochs_done = read_weights(finished_run / WEIGHTS)
    assert epochs_done == 2 and tensors.keys() == load_file(finished_run / WEIGHTS).keys()
    header = 8 + int.from_bytes(data[:8], "little")  # length field + JSON header (names, shapes, metadata)
    for index, bit, flipped in _flips(data, every_bit_below=header):
        (tmp_path / WEIGHTS).write_bytes(flipped)
        with pytest.raises(CheckpointError):
            read_weights(tmp_path / WEIGHTS)
            pytest.fail(f"byte {index}, bit {bit} of the weights file was not noticed")


def test_a_flipped_checkpoint_stops_resume_and_eval_with_one_line(finished_run, tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    for name, content in _files(finished_run).items():
        (run_dir / name).write_bytes(content)
    data = bytearray((run_dir / CHECKPOINT).read_bytes())
    data[len(data) // 2] ^= 4
    (run_dir / CHECKPOINT).write_bytes(bytes(data))
    for command in (["train", "--resume", str(run_dir)], ["eval", str(run_dir)]):
        result = runner.invoke(app, command)
        assert result.exit_code == 1 and "checksum mismatch" in result.output and "Traceback" not in result.output


def _rewrite_checkpoint(run_dir, change):
    """A checkpoint with a valid checksum whose contents are ``change``d (what a buggy writer could save)."""
    state = change(load_checkpoint(run_dir))
    buffer = io.BytesIO()
    torch.save(state, buffer)
    payload = buffer.getvalue()
    (run_dir / CHECKPOINT).write_bytes(MAGIC + hashlib.sha256(payload).digest() + payload)


@pytest.mark.parametrize(("change", "message"), [
    (lambda s: {k: v for k, v in s.items() if k != "history"}, "'history' is missing"),
    (lambda s: {**s, "epochs_done": "x"}, "'epochs_done' has type str"),
    (lambda s: {**s, "epochs_done": 5}, "does not match its history"),
    (lambda s: {**s, "model": {k: v * float("nan") for k, v in s["model"].items()}}, "model.* non-finite"),
    (lambda s: [1, 2], "expected a mapping"),
])
def test_checkpoints_with_parts_of_the_wrong_kind_are_refused(finished_run, tmp_path, change, message):
    (tmp_path / CHECKPOINT).write_bytes((finished_run / CHECKPOINT).read_bytes())
    _rewrite_checkpoint(tmp_path, change)
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(tmp_path)


def test_non_finite_or_unchecked_weights_are_refused(finished_run, tmp_path):
    tensors, _ = read_weights(finished_run / WEIGHTS)
    save_weights(tmp_path, {name: value * float("inf") for name, value in tensors.items()}, 2)
    with pytest.raises(CheckpointError, match="non-finite"):
        read_weights(tmp_path / WEIGHTS)
    from safetensors.torch import save_file

    save_file(tensors, str(tmp_path / WEIGHTS))  # a plain safetensors file: nothing to verify it against
    with pytest.raises(CheckpointError, match="no spikegrad checksum"):
        read_weights(tmp_path / WEIGHTS)


# -- checkpoint and weights never disagree ----------------------------------------------------------------
def test_an_interruption_between_the_saves_leaves_the_checkpoint_in_charge(tmp_path, monkeypatch):
    whole = tmp_path / "whole"
    Trainer(build_experiment(_config(3)), whole).fit()

    real_save, calls = trainer_module.save_weights, {"n": 0}

    def killed_on_the_second(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            (tmp_path / "cut" / ".model.safetensors.tmp").write_bytes(b"half a file")
            raise KeyboardInterrupt  # the kill lands after checkpoint.pt of epoch 2, before its weights
        return real_save(*args, **kwargs)

    monkeypatch.setattr(trainer_module, "save_weights", killed_on_the_second)
    cut = tmp_path / "cut"
    with pytest.raises(KeyboardInterrupt):
        Trainer(build_experiment(_config(3)), cut).fit()
    monkeypatch.setattr(trainer_module, "save_weights", real_save)
    assert load_checkpoint(cut)["epochs_done"] == 2 and read_weights(cut / WEIGHTS)[1] == 1
    assert len((cut / "metrics.csv").read_text().splitlines()) == 2  # header + epoch 1: never ahead

    experiment = build_experiment(_config(3))
    load_weights(cut, experiment.model)  # the newer checkpoint's weights, and the file is repaired
    checkpoint_model = load_checkpoint(cut)["model"]
    assert all(torch.equal(experiment.model.state_dict()[k], checkpoint_model[k]) for k in checkpoint_model)
    assert read_weights(cut / WEIGHTS)[1] == 2

    Trainer(build_experiment(_config(3)), cut).fit(resume=True)
    assert not (cut / ".model.safetensors.tmp").exists()  # the stale temporary is cleaned
    assert (cut / "metrics.csv").read_text().splitlines()[1:] != []
    for name, value in load_file(whole / WEIGHTS).items():
        assert torch.equal(value, load_file(cut / WEIGHTS)[name]), name


def test_weights_newer_than_the_checkpoint_are_refused(finished_run, tmp_path):
    (tmp_path / CHECKPOINT).write_bytes((finished_run / CHECKPOINT).read_bytes())
    tensors, _ = read_weights(finished_run / WEIGHTS)
    save_weights(tmp_path, tensors, 3)
    with pytest.raises(CheckpointError, match="mixed from different runs"):
        load_weights(tmp_path, build_experiment(_config()).model)


# -- divergence never leaves non-finite state -----------------------------------------------------------------
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_a_huge_learning_rate_leaves_only_finite_checkpoints(tmp_path, optimizer):
    run_dir = tmp_path / optimizer
    result = runner.invoke(app, ["train", "--epochs", "2", "--out", str(run_dir), "--set", f"optimizer={optimizer}",
                                 "--set", "lr=1e38", *CLI_SMALL])
    assert "Traceback" not in result.output
    assert result.exit_code == 0 or "training stopped" in result.output
    if (run_dir / CHECKPOINT).exists():
        load_checkpoint(run_dir)  # refuses non-finite model or optimiser state
        read_weights(run_dir / WEIGHTS)
