"""The learning rules' own options as recipe settings, and the rule a run trains with.

Every recipe whose network is built from neuron slots (:mod:`spikegrad.nn.spec`) takes these settings;
an option of another rule than the run's ``method`` is refused when it differs from the recipe's
default, so nothing is silently ignored.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from spikegrad.errors import ConfigError
from spikegrad.grad.surrogates import CATALOGUE, SurrogateName, make_estimator
from spikegrad.rules.bptt import BPTT
from spikegrad.rules.lee.plugin import Lee
from spikegrad.rules.lee.scan import LeeGradientPath
from spikegrad.rules.na.modes import Faithful, LossChange, Paper
from spikegrad.rules.na.plugin import NA
from spikegrad.rules.plugin import Rule
from spikegrad.rules.slayer.plugin import SLAYER
from spikegrad.train.settings import Settings, require, setting

OWNERS = {"surrogate": "bptt", "surrogate_alpha": "bptt", "pdf_tau_rho": "slayer", "pdf_scale_rho": "slayer",
          "lee_gradient": "lee", "na_mode": "na", "na_rescale": "na", "na_loss_change": "na",
          "na_exact_output": "na", "na_chunk_elements": "na", "na_trace_tau": "na"}
"""Which rule each option belongs to."""


@dataclasses.dataclass(frozen=True)
class RuleSettings(Settings):
    """The options of the rules that can train a network of shared neurons."""

    surrogate: SurrogateName = setting("atan", "bptt: the spike-derivative estimator")
    surrogate_alpha: float | None = setting(None, "bptt: the estimator's steepness (none: its default)")
    pdf_tau_rho: float = setting(1.0, "slayer: width of the PDF relative to the threshold (tauRho)")
    pdf_scale_rho: float = setting(1.0, "slayer: scale of the PDF (scaleRho)")
    lee_gradient: LeeGradientPath = setting(LeeGradientPath.CODE, "lee: the reference code's path or the paper's rate formula")
    na_mode: Literal["faithful", "paper"] = setting("faithful", "na: the original code's backward or the poster's")
    na_rescale: bool = setting(False, "na faithful: the code's layer-wise gradient rescaling")
    na_loss_change: LossChange = setting(LossChange.ACCUMULATED, "na paper: estimate of a neighbour's loss change")
    na_exact_output: bool = setting(False, "na paper: the exact loss difference at the output layer")
    na_chunk_elements: int = setting(0, "na: memory budget of the neighbour re-simulation (0 = 2**22)")
    na_trace_tau: float = setting(2.0, "na: synaptic time constant (steps) of layers that hand on spikes")

    def check(self) -> None:
        require(self.na_chunk_elements >= 0, "na_chunk_elements", f"must be >= 0, got {self.na_chunk_elements}")
        require(self.surrogate_alpha is None or self.surrogate_alpha > 0, "surrogate_alpha", "must be > 0 or none")
        require(self.na_trace_tau >= 1, "na_trace_tau", f"must be >= 1 step, got {self.na_trace_tau}")

    def estimator(self):
        """bptt's estimator: ``surrogate`` with ``surrogate_alpha`` as its first parameter when given."""
        if self.surrogate_alpha is None:
            return make_estimator(self.surrogate)
        first = dataclasses.fields(CATALOGUE[self.surrogate])[0].name
        return make_estimator(self.surrogate, **{first: self.surrogate_alpha})

    def rule(self, method: str) -> Rule:
        """The rule ``method`` with its options (ConfigError for a method these settings do not build)."""
        if method == "bptt":
            return BPTT(self.estimator())
        if method == "slayer":
            return SLAYER(self.pdf_tau_rho, self.pdf_scale_rho)
        if method == "lee":
            return Lee(self.lee_gradient)
        if method == "na":
            mode = Faithful(rescale=self.na_rescale) if self.na_mode == "faithful" else \
                Paper(self.na_loss_change, exact_output=self.na_exact_output)
            return NA(mode, self.na_chunk_elements or None, self.na_trace_tau)
        raise ConfigError("method", f"{method!r} does not train networks of shared neurons")


def rule_for(method: str, settings: RuleSettings, defaults: RuleSettings) -> Rule:
    """The run's rule; an option of another rule that differs from the recipe's default is refused."""
    for name, owner in OWNERS.items():
        if owner != method and getattr(settings, name) != getattr(defaults, name):
            raise ConfigError(name, f"is an option of method {owner!r}; this run trains with {method!r}")
    return settings.rule(method)
