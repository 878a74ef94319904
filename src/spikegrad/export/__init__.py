"""Networks that leave the library: NIR (Neuromorphic Intermediate Representation) export and import.

- :func:`to_nir` writes a network as a ``nir.NIRGraph`` from its layer types (no tracing);
  :func:`from_nir` reads one (spikegrad's or another library's) back into spikegrad modules.
- :func:`export_run` writes a trained run directory to a ``.nir`` file (``spikegrad export RUN --format nir``).
- Reset by subtraction has no NIR form: it is refused unless ``approximate=True``, whose effect
  :func:`approximate_agreement` / :func:`spike_agreement` measure.

Units and discretisation (seconds; forward Euler at the graph's ``dt``; ``tau = dt/(1 - beta)``,
``r = tau/dt``; strict NIR thresholds): :mod:`spikegrad.export.discretisation`. The layer tables:
:mod:`spikegrad.export.writer` and :mod:`spikegrad.export.reader`. Needs the ``nir`` package
(``pip install 'spikegrad[nir]'``); without it these functions raise :class:`~spikegrad.errors.ExportError`.
"""

from spikegrad.errors import ExportError
from spikegrad.export.agreement import (
    SpikeAgreement,
    approximate_agreement,
    record_spikes,
    spike_agreement,
)
from spikegrad.export.discretisation import SNNTORCH_DT
from spikegrad.export.reader import from_nir
from spikegrad.export.run import export_run
from spikegrad.export.writer import to_nir

__all__ = [
    "SNNTORCH_DT",
    "ExportError",
    "SpikeAgreement",
    "approximate_agreement",
    "export_run",
    "from_nir",
    "record_spikes",
    "spike_agreement",
    "to_nir",
]
