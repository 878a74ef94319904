"""Where a new run may be written: never over an earlier run unless that is asked for explicitly.

A run directory is created if absent; an existing empty folder is used as it is. A folder that already
holds files is refused, so that ``--out`` given twice cannot silently replace a run's metrics, checkpoint
and weights, unless ``overwrite`` is set: then the files a run writes are removed first (other files stay).
"""

from __future__ import annotations

from pathlib import Path

from spikegrad.errors import ConfigError

RUN_FILES = ("config.yaml", "metrics.csv", "checkpoint.pt", "model.safetensors", "curves.png", "raster.png",
             "summary.json")
"""The files :class:`~spikegrad.train.Trainer` writes; ``eval-*.json`` and ``activity*`` come from later commands."""
_LATER_FILES = ("eval-*.json", "activity*", ".*.tmp", "tensorboard/events.out.tfevents.*")


def prepare_run_dir(run_dir: Path, overwrite: bool = False, option: str = "--out") -> None:
    """Create ``run_dir`` for a new run, refusing a folder that holds files unless ``overwrite``.

    Raises:
        ConfigError: naming ``option``, when ``run_dir`` is a file, cannot be created, or holds files.
    """
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise ConfigError(option, f"{run_dir} is a file; a run directory is a folder")
    if run_dir.is_dir():
        held = sorted(entry.name for entry in run_dir.iterdir())
        if held and not overwrite:
            shown = ", ".join(held[:5]) + (", ..." if len(held) > 5 else "")
            raise ConfigError(option, f"{run_dir} already holds files ({shown}); choose a new folder, continue "
                              f"an interrupted run with --resume {run_dir}, or replace it with --overwrite")
        if held:
            _remove_run_files(run_dir)
        return
    try:
        run_dir.mkdir(parents=True)
    except OSError as err:
        raise ConfigError(option, f"cannot create the run directory {run_dir}: {err.strerror or err}") from None


def _remove_run_files(run_dir: Path) -> None:
    paths = [run_dir / name for name in RUN_FILES]
    paths += [path for pattern in _LATER_FILES for path in run_dir.glob(pattern)]
    for path in paths:
        if path.is_file():
            path.unlink()
