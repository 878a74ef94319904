"""``python -m spikegrad``: the ``spikegrad`` command (so ``torchrun ... -m spikegrad train`` works too)."""

from spikegrad.cli import app

app()
