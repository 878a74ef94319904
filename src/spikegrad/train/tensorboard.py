"""Optional TensorBoard logging beside ``metrics.csv``: every epoch's row as scalars (``--tensorboard``).

The event files go to ``<run_dir>/tensorboard``; view them with ``tensorboard --logdir <run_dir>``. Needs
the ``tensorboard`` package (``pip install 'spikegrad[tensorboard]'``); asking for it without the package
is a ConfigError, never a silent no-op. A resumed run appends to the same folder from its next epoch on.
"""

from __future__ import annotations

from pathlib import Path

from spikegrad.errors import ConfigError

LOG_DIR = "tensorboard"


class TensorBoardLog:
    """Writes each epoch's metrics (``train_loss``, ``test_accuracy``, ``lr``, ...) at step = epoch number."""

    def __init__(self, run_dir: Path):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise ConfigError("--tensorboard",
                              "needs the tensorboard package: pip install 'spikegrad[tensorboard]'") from None
        self.writer = SummaryWriter(log_dir=str(Path(run_dir) / LOG_DIR))

    def epoch(self, row: dict[str, float]) -> None:
        step = int(row["epoch"])
        for key, value in row.items():
            if key != "epoch":
                self.writer.add_scalar(key, float(value), step)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()
