"""Learnable axonal delay as a time-first module (SLAYER's ``d`` layers), usable after any spiking layer."""

from __future__ import annotations

import torch
from torch import nn

from spikegrad.errors import ConfigError
from spikegrad.functional.delay import axonal_delay, delay_bins
from spikegrad.nn.base import StatefulModule, last_steps
from spikegrad.types import check_time_first


class AxonalDelay(StatefulModule):
    r"""Learnable axonal delays: ``y[n] = x[n - trunc(d / Ts)]`` per neuron or per channel.

    The delay ``d`` (ms) is a parameter of shape ``shape``, broadcast to the features: ``(N,)`` or
    ``(C, H, W)`` for one delay per neuron, ``(C, 1, 1)`` for one per channel. It is initialised
    U(0, ``init_max``) ms like slayerPytorch, and projected onto ``[0, max_delay]`` at the start of every
    forward call (after an optimizer step has moved it), so the layer stays causal without user code.
    Gradient: SLAYER's backward difference of the delayed signal (:mod:`spikegrad.functional.delay`).

    State: the last ``max trunc(d / Ts)`` input steps, ``[K, B, *features]``.
    """

    def __init__(self, shape: tuple[int, ...], ts: float, max_delay: float | None = None, init_max: float = 1.0):
        super().__init__()
        if max_delay is not None and not max_delay >= 0:
            raise ConfigError("max_delay", f"must be >= 0 ms or None, got {max_delay!r}")
        if not init_max >= 0:
            raise ConfigError("init_max", f"must be >= 0 ms, got {init_max!r}")
        if not ts > 0:
            raise ConfigError("Ts", f"must be > 0 ms, got {ts!r}")
        self.ts, self.max_delay, self.init_max = ts, max_delay, init_max
        self.delay = nn.Parameter(torch.empty(shape))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        with torch.no_grad():
            self.delay.uniform_(0.0, self.init_max)

    def forward(self, x: torch.Tensor, state: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        check_time_first(x, "AxonalDelay input")
        with torch.no_grad():
            self.delay.clamp_(min=0.0, max=self.max_delay)
        history = int(delay_bins(self.delay, self.ts).max())
        if state is None:
            y = axonal_delay(x, self.delay, self.ts)
        else:
            carried = last_steps(None, state, history)
            y = axonal_delay(torch.cat([carried, x]), self.delay, self.ts)[history:]
        return y, last_steps(state, x, history)

    def extra_repr(self) -> str:
        return f"shape={tuple(self.delay.shape)}, ts={self.ts}, max_delay={self.max_delay}"
