"""Kernels: the backend registry (:mod:`spikegrad.kernels.registry`) and the ops that have a Triton kernel.

Each op's PyTorch reference is its specification; the kernel modules named here are imported only when a
call dispatches to them, so Triton is needed only where it runs. Ops and their references:

- ``neuron_scan``: :func:`spikegrad.functional.scan.neuron_scan` (LIF/IF/CUBA, forward and backward);
- ``alpha_recursion``: :func:`spikegrad.functional.psp.alpha_recursion` (the PSP filter and its adjoint);
- ``axonal_delay``: :func:`spikegrad.functional.delay.axonal_delay` (shift, input and delay gradients);
- ``srm_spike``: :func:`spikegrad.rules.slayer.spike.slayer_spike` (SLAYER's spike with refractory response);
- ``lee_scan``: :func:`spikegrad.rules.lee.scan.lee_neuron_scan` (Lee's scan, its gradient factor and backward);
- ``na_neighbours``: :func:`spikegrad.rules.na.neighbours.neighbour_loss_changes` (NA's neighbour re-simulation);
- ``event_linear``: :func:`spikegrad.functional.event_linear.event_linear` (the event-driven synapse's gather and
  weight gradient).
"""

from spikegrad.kernels.registry import Backend, current_backend, kernel_for, register, use_backend

register("neuron_scan", "spikegrad.kernels.neuron_scan")
register("alpha_recursion", "spikegrad.kernels.alpha_recursion")
register("axonal_delay", "spikegrad.kernels.axonal_delay")
register("srm_spike", "spikegrad.kernels.srm_spike")
register("lee_scan", "spikegrad.kernels.lee_scan")
register("na_neighbours", "spikegrad.kernels.na_neighbours")
register("event_linear", "spikegrad.kernels.event_linear")

__all__ = ["Backend", "current_backend", "kernel_for", "register", "use_backend"]
