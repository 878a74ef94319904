"""Export a trained run directory to a NIR file (the library side of ``spikegrad export RUN --format nir``)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from spikegrad.errors import ConfigError, ExportError
from spikegrad.export.agreement import record_spikes, spike_agreement
from spikegrad.export.discretisation import require_nir
from spikegrad.export.reader import from_nir
from spikegrad.export.writer import APPROXIMATED, to_nir

NIR_FILE = "model.nir"
AGREEMENT_SAMPLES = 512  # test samples the approximate export is measured on
_AGREEMENT_STREAM = 2_000_003  # seed offset: the encoding of those samples is fixed per run


def _test_spikes(experiment: Any, samples: int, seed: int) -> torch.Tensor:
    """Encoded spikes ``[T, B, ...]`` of the first ``samples`` test samples of a classification experiment."""
    from spikegrad.train.classification import ClassificationExperiment

    if not isinstance(experiment, ClassificationExperiment):
        raise ExportError(
            f"recipe {experiment.config.recipe!r}", "is not a classification run, so there are no test inputs to "
            "encode; call spikegrad.export.approximate_agreement with your own inputs"
        )
    inputs, _ = experiment.split("test")
    generator = torch.Generator().manual_seed(seed + _AGREEMENT_STREAM)
    return experiment.parts.encode(inputs[:samples], generator).cpu()


def _write_atomic(nir: Any, path: Path, graph: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        nir.write(tmp, graph)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def export_run(
    run_dir: str | os.PathLike,
    out: str | os.PathLike | None = None,
    approximate: bool = False,
    dt: float | None = None,
    report: Callable[[str], None] | None = None,
    samples: int = AGREEMENT_SAMPLES,
) -> Path:
    """Write the trained network of ``run_dir`` as a NIR file and return its path.

    Loads the run as ``spikegrad eval`` does (``config.yaml``, the recipe's model, ``model.safetensors``; on
    the CPU), writes it with :func:`~spikegrad.export.to_nir` (per-sample input shape taken from one encoded
    test sample) and ``nir.write``, atomically.

    Args:
        run_dir: a run directory written by ``spikegrad train``.
        out: the file to write; default ``run_dir/model.nir``.
        approximate: write neurons that reset by subtraction as reset to zero. The spike agreement with the
            trained network is then measured on the first ``samples`` test samples
            (:func:`~spikegrad.export.spike_agreement`), stored in the graph's metadata
            (``spike_agreement``: the fraction of matching entries; ``spike_agreement_report``: every figure)
            and passed to ``report``.
        dt: the graph's time step in seconds (:func:`~spikegrad.export.to_nir`); default the network's own.
        report: called with one line of text for each thing worth telling the user (the agreement).
        samples: test samples for the agreement.

    Raises:
        ExportError: a layer NIR cannot express (names it; reset by subtraction names the ``approximate``
            option), or a run that is not a classification run when the agreement must be measured.
        ConfigError, CheckpointError: the run directory is missing, invalid or does not fit its recipe.
    """
    from spikegrad.train.runs import load_run

    nir = require_nir()
    if samples < 1:
        raise ConfigError("samples", f"must be >= 1, got {samples}")
    run_dir = Path(run_dir)
    config, experiment = load_run(run_dir, device="cpu")
    model = experiment.model.eval()
    try:
        probe = _test_spikes(experiment, 1, config.seed)
        input_shape = tuple(probe.shape[2:])
    except ExportError:
        input_shape = None  # to_nir takes it from a first Dense layer, or says it needs it
    graph = to_nir(model, dt=dt, input_shape=input_shape, approximate=approximate)
    if graph.metadata.get(APPROXIMATED):
        spikes = _test_spikes(experiment, samples, config.seed)
        with torch.no_grad():
            agreement = spike_agreement(record_spikes(model, spikes), record_spikes(from_nir(graph), spikes))
        graph.metadata["spike_agreement"] = agreement.matching
        graph.metadata["spike_agreement_report"] = f"{agreement} on {spikes.shape[1]} test samples"
        if report is not None:
            layers = graph.metadata[APPROXIMATED]
            report(f"approximate export (reset by subtraction written as reset to zero in layers {layers}): "
                   f"{graph.metadata['spike_agreement_report']}")
    path = Path(out) if out is not None else run_dir / NIR_FILE
    _write_atomic(nir, path, graph)
    return path
