"""Surrogate-gradient BPTT on the shared neuron scan: the baseline every rule is compared with.

The neurons are the shared ones (:mod:`spikegrad.functional.neuron`), their backward pass the one O(T)
hand-written scan (:func:`spikegrad.functional.scan.neuron_scan`) with any estimator of the catalogue
(:mod:`spikegrad.grad`); there is nothing else to this rule (:mod:`.plugin`).
"""

from spikegrad.rules.bptt.plugin import BPTT

__all__ = ["BPTT"]
