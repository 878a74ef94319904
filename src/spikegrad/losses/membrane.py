r"""Membrane mean-squared error: :math:`L = \mathrm{mean}_{t,b,i} (v_{t,b,i} - \hat v_{t,b,i})^2`.

Used with a non-spiking readout (:class:`~spikegrad.nn.LeakyIntegrator`) to regress target traces, or
with one-hot targets broadcast over time for classification by membrane potential.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from spikegrad.errors import ShapeError


def membrane_mse(membrane: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error between a membrane trace ``[T, B, ...]`` and a target broadcastable to it."""
    try:
        torch.broadcast_shapes(membrane.shape, target.shape)
    except RuntimeError:
        raise ShapeError("membrane_mse target", f"broadcastable to {tuple(membrane.shape)}", tuple(target.shape)) from None
    return F.mse_loss(membrane, target.expand_as(membrane))
