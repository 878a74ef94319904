"""The training loop: seeds, progress, metrics, checkpoints, resume, NaN guard, summary and plots.

Run directory layout::

    config.yaml       the resolved configuration
    metrics.csv       one row per epoch
    checkpoint.pt     model/optimizer/schedule state after the last finished epoch (weights_only)
    model.safetensors the weights after the last finished epoch
    curves.png        loss and accuracy per epoch
    raster.png        spike raster of one test sample
    summary.json      recipe, method, epochs, test_accuracy, train_seconds, peak_memory_mb, ...

Every epoch re-seeds all random draws from ``(seed, epoch)``, and the checkpoint holds the optimiser and
schedule state, so a run resumed after an interruption reproduces an uninterrupted run on the CPU.

Under torchrun (``world``: :mod:`spikegrad.train.distributed`) every process trains; rank 0 alone writes the
run directory (all of the files above; its times and peak memory are its own) and prints. The loss of every
batch and the epoch's metrics are sums over the processes, so every process takes the same decisions
(divergence, early stop); a run directory that rank 0 refuses stops every process with its message. On
resume every process reads the checkpoint (several nodes need the run directory on a shared filesystem).
Nothing in a checkpoint depends on the number of processes: a run resumes onto any number, continuing with
the same global batches and random encodings. What differs from one process is floating-point rounding
(summation order; with ``synapse_mode=auto``, which synapse calls take the event path, chosen per call from
the density of the share) and, with dropout, the masks of ranks > 0 (each process draws its own).
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import resource
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from spikegrad.errors import CheckpointError, NonFiniteInputError, TrainingDivergedError
from spikegrad.functional.compiled_scan import compile_seconds
from spikegrad.nn.synapse_mode import event_path_share
from spikegrad.train.checkpoint import (
    CHECKPOINT,
    load_checkpoint,
    remove_stale_temporaries,
    save_checkpoint,
    save_weights,
)
from spikegrad.train.config import RunConfig, read_config, save_config
from spikegrad.train.distributed import SINGLE_PROCESS, World
from spikegrad.train.experiment import Experiment
from spikegrad.train.optim import build_optimizer, build_schedule
from spikegrad.train.run_dir import prepare_run_dir
from spikegrad.train.tensorboard import TensorBoardLog

_EVAL_STREAM = 1_000_003  # offset giving evaluation its own fixed random stream


def _rounded(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def epoch_seed(seed: int, epoch: int) -> int:
    """The seed of every random draw in ``epoch`` of a run seeded with ``seed``."""
    return (seed * 100_003 + epoch) % (2**63 - 1)


def eval_generator(config: RunConfig) -> torch.Generator:
    """The fixed random stream of every evaluation of a run seeded with ``config.seed``."""
    return torch.Generator().manual_seed((config.seed + _EVAL_STREAM) % (2**63 - 1))


def peak_memory_mb(device: torch.device) -> float:
    """Peak memory of this run: CUDA allocator peak on a GPU, process peak RSS on the CPU (MiB)."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 1024


class Trainer:
    """Runs an :class:`Experiment` for ``config.epochs`` epochs in ``run_dir``, on the processes of ``world``."""

    def __init__(self, experiment: Experiment, run_dir: Path, console: Console | None = None,
                 tensorboard: bool = False, world: World = SINGLE_PROCESS):
        experiment.distribute(world)
        self.experiment, self.config, self.world = experiment, experiment.config, world
        self.tensorboard = tensorboard
        self._log: TensorBoardLog | None = None
        self.run_dir = Path(run_dir)
        self.console = (console or Console(stderr=True)) if world.is_writer else Console(quiet=True)
        self.optimizer = build_optimizer(self.config, experiment.parameter_groups())
        self.schedule = build_schedule(self.config, self.optimizer)
        self.history: list[dict[str, float]] = []
        self.train_seconds = 0.0
        self._compile_seconds_before = compile_seconds()  # the process's compilations before this run
        self.start_epoch = 0
        self._epoch = 0
        self._batch = 0

    # -- state ---------------------------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        return {
            "model": self.experiment.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "schedule": self.schedule.state_dict(),
            "epochs_done": len(self.history),
            "history": self.history,
            "train_seconds": self.train_seconds,
        }

    def _restore(self) -> None:
        saved = read_config(self.run_dir / "config.yaml", type(self.config.settings))
        if saved.to_dict() != self.config.to_dict():
            raise CheckpointError(f"{self.run_dir}: the configuration differs from the one saved in config.yaml; "
                                  "resume with the run directory alone")
        state = load_checkpoint(self.run_dir)
        try:
            self.experiment.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
            self.schedule.load_state_dict(state["schedule"])
        except (KeyError, RuntimeError, ValueError) as err:
            raise CheckpointError(f"{self.run_dir / CHECKPOINT}: does not fit this recipe's model ({err})") from None
        self.history = [dict(row) for row in state["history"]]
        self.train_seconds = float(state["train_seconds"])
        self.start_epoch = state["epochs_done"]

    # -- one optimisation step -----------------------------------------------------------------------
    def _step(self, loss: torch.Tensor | None) -> float:
        (total,) = self.world.sum(loss.item() if loss is not None else 0.0)
        if not math.isfinite(total):
            self._diverged(f"the loss became {total}")
        self.optimizer.zero_grad(set_to_none=True)
        if loss is not None:
            self.experiment.backward(loss)
        params = [p for p in self.experiment.model.parameters() if p.requires_grad]
        self.world.reduce_gradients(params)
        params = [p for p in params if p.grad is not None]
        limit = self.config.grad_clip if self.config.grad_clip > 0 else math.inf
        norm = torch.nn.utils.clip_grad_norm_(params, limit) if params else torch.tensor(0.0)
        if not torch.isfinite(norm):
            self._diverged(f"the gradient norm became {norm.item()}")
        try:
            self.optimizer.step()
        except RuntimeError as err:  # e.g. Adam's step size lr / (1 - beta1^t) beyond the float range
            if "overflow" not in str(err):
                raise
            self._diverged(f"the optimiser step overflowed ({err})")
        self.experiment.after_step()
        self._batch += 1
        return total

    def _diverged(self, what: str) -> None:
        kept = (f"the last good checkpoint (after epoch {len(self.history)}) is kept in {self.run_dir / CHECKPOINT}"
                if self.history else "no epoch had finished, so no checkpoint was written")
        raise TrainingDivergedError(
            f"training stopped at epoch {self._epoch + 1}, batch {self._batch + 1}: {what}; {kept}. "
            "Try a lower learning rate (--set lr=...) or gradient clipping (--set grad_clip=1).")

    # -- the loop ------------------------------------------------------------------------------------
    def fit(self, resume: bool = False, overwrite: bool = False) -> dict[str, Any]:
        """Train; ``resume`` continues the run in ``run_dir``, else a new run is written there (a folder that
        already holds files is refused unless ``overwrite``: see :func:`~spikegrad.train.run_dir.prepare_run_dir`)."""
        writer = self.world.is_writer
        if resume:
            self._restore()
            if writer:
                remove_stale_temporaries(self.run_dir)
        else:
            self.world.writer_does(lambda: self._new_run_dir(overwrite))
        self.world.broadcast(self.experiment.model)
        self._log = TensorBoardLog(self.run_dir) if self.tensorboard and writer else None
        torch.manual_seed(self.config.seed)
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("loss {task.fields[loss]:.4f}"), TimeRemainingColumn(),
                      console=self.console, transient=True, disable=self.console.quiet or not self.console.is_terminal) as progress:
            for epoch in range(self.start_epoch, self.config.epochs):
                self._epoch, self._batch = epoch, 0
                self._run_epoch(epoch, progress)
                if self.experiment.finished(self.history):
                    self.console.print(f"goal reached: stopped after epoch {epoch + 1}")
                    break
        if self._log is not None:
            self._log.close()
        summary = self._summary()
        if writer:
            (self.run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
            self._plots()
        return summary

    def _new_run_dir(self, overwrite: bool) -> None:
        prepare_run_dir(self.run_dir, overwrite)
        save_config(self.config, self.run_dir / "config.yaml")

    def _run_epoch(self, epoch: int, progress: Progress) -> None:
        seed = epoch_seed(self.config.seed, epoch)
        torch.manual_seed(self.world.stream(seed))
        generator = torch.Generator().manual_seed(seed)
        task = progress.add_task(f"epoch {epoch + 1}/{self.config.epochs}", total=self.experiment.num_batches() or None, loss=math.nan)
        started = time.perf_counter()
        with self._divergence_inside_the_network():
            train = self.experiment.train_epoch(
                generator, lambda i, n, loss: progress.update(task, completed=i + 1, loss=loss), self._step)
        seconds = time.perf_counter() - started
        progress.remove_task(task)
        lr = self.optimizer.param_groups[0]["lr"]
        self.schedule.step()
        split = self.experiment.eval_split
        with self._divergence_inside_the_network():
            evaluated = self.experiment.evaluate(split, self.eval_generator())
        self.train_seconds += seconds
        self._check_weights()
        row = {"epoch": epoch + 1, **{f"train_{k}": v for k, v in train.items()},
               **{f"{split}_{k}": v for k, v in evaluated.items() if k != "samples"}, "lr": lr, "epoch_seconds": seconds}
        self.history.append(row)
        # checkpoint, then weights, then metrics: an interruption leaves the checkpoint newest, and
        # load_weights / --resume take it from there (see spikegrad.train.checkpoint)
        if self.world.is_writer:
            save_checkpoint(self.run_dir, self._state())
            save_weights(self.run_dir, self.experiment.model.state_dict(), len(self.history))
            self._write_metrics()
        if self._log is not None:
            self._log.epoch(row)
        shown = "  ".join(f"{k} {v:.4f}" for k, v in row.items() if k not in ("epoch", "lr", "epoch_seconds"))
        self.console.print(f"epoch {epoch + 1}/{self.config.epochs}  {shown}  ({seconds:.1f} s)")

    @contextlib.contextmanager
    def _divergence_inside_the_network(self) -> Iterator[None]:
        """Finite data but non-finite currents inside the network: the weights grew too large to represent."""
        try:
            yield
        except NonFiniteInputError as err:
            largest = max((float(p.detach().abs().max()) for p in self.experiment.model.parameters()), default=0.0)
            self._diverged(f"a layer received non-finite input ({err}); the largest weight magnitude is {largest:.3g}")

    def _check_weights(self) -> None:
        """Refuse to save non-finite weights or optimiser state: the last good checkpoint stays."""
        for name, value in self.experiment.model.state_dict().items():
            if value.is_floating_point() and not torch.isfinite(value).all():
                self._diverged(f"the weights {name!r} became non-finite")
        for state in self.optimizer.state.values():
            for name, value in state.items():
                if isinstance(value, torch.Tensor) and value.is_floating_point() and not torch.isfinite(value).all():
                    self._diverged(f"the optimiser state {name!r} became non-finite")

    def eval_generator(self) -> torch.Generator:
        """The fixed random stream of every evaluation of this run (encodings at test time)."""
        return eval_generator(self.config)

    def _write_metrics(self) -> None:
        path = self.run_dir / "metrics.csv"
        columns = list(dict.fromkeys(key for row in self.history for key in row))
        tmp = path.with_name(".metrics.csv.tmp")
        with open(tmp, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            writer.writerows(self.history)
        tmp.replace(path)

    def _summary(self) -> dict[str, Any]:
        last = self.history[-1]
        metric = f"{self.experiment.eval_split}_{self.experiment.primary_metric}"
        summary: dict[str, Any] = {
            "recipe": self.config.recipe,
            "method": self.config.method,
            "epochs": len(self.history),
            metric: last.get(metric),
            f"best_{metric}": max((row[metric] for row in self.history if metric in row), default=None),
            "final_train_loss": last.get("train_loss"),
            "train_seconds": round(self.train_seconds, 3),
            "seconds_per_epoch": round(self.train_seconds / max(len(self.history), 1), 3),
            "peak_memory_mb": round(peak_memory_mb(self.experiment.device), 1),
            "device": str(self.experiment.device),
            "amp": self.config.amp,
            "synapse_mode": self.config.synapse_mode,
            "event_synapse_share": _rounded(event_path_share(self.experiment.model)),
            "compile": self.config.compile,
            "compile_seconds": round(compile_seconds() - self._compile_seconds_before, 3),
            "processes": self.world.size,
            "seed": self.config.seed,
            "torch": torch.__version__,
        }
        summary.update(self.experiment.summary(self.history))
        return summary

    def _plots(self) -> None:
        from spikegrad.analysis.plots import plot_curves

        plot_curves(self.history, self.run_dir / "curves.png")
        self.experiment.plot_sample(self.run_dir / "raster.png", self.eval_generator())

    def print_summary(self, summary: dict[str, Any]) -> None:
        table = Table(title=f"{summary['recipe']} ({summary['method']})")
        table.add_column("metric")
        table.add_column("value", justify="right")
        for key, value in summary.items():
            if key not in ("recipe", "method"):
                table.add_row(key, f"{value:.4f}" if isinstance(value, float) else str(value))
        self.console.print(table)
        self.console.print(f"run directory: {self.run_dir}")
