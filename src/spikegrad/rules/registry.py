"""The learning rules by ``--method`` name."""

from __future__ import annotations

from spikegrad.errors import ConfigError
from spikegrad.rules.bptt.plugin import BPTT
from spikegrad.rules.lee.plugin import Lee
from spikegrad.rules.na.plugin import NA
from spikegrad.rules.normad.plugin import NormADRule
from spikegrad.rules.plugin import Rule
from spikegrad.rules.slayer.plugin import SLAYER

RULES: dict[str, type[Rule]] = {rule.name: rule for rule in (BPTT, SLAYER, Lee, NA, NormADRule)}
"""Every rule, by name."""


def rule_type(name: str) -> type[Rule]:
    """The rule called ``name`` (ConfigError listing the rules)."""
    if name not in RULES:
        raise ConfigError("method", f"unknown learning rule {name!r}; the rules are {', '.join(RULES)}")
    return RULES[name]
