"""The learning rules, one package each, on the shared core (:mod:`spikegrad.functional`, :mod:`spikegrad.grad`,
:mod:`spikegrad.nn`, :mod:`spikegrad.losses`, :mod:`spikegrad.encoding`).

Every rule package has the same file roles where they apply: its neuron or spike op, its gradient, its
layers (``layers.py``), its loss (``loss.py``) and the papers' networks (``nets.py``). A rule package
imports only the core, never :mod:`spikegrad.train`, :mod:`spikegrad.analysis` or another rule.
"""
