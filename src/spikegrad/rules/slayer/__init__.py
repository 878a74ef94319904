"""SLAYER (Shrestha & Orchard, NeurIPS 2018): spike layer error reassignment in time.

- :mod:`.srm`: the SRM neuron's constants and kernels (spike response, refractory, the PDF surrogate);
- :mod:`.spike`: the threshold scan with the refractory kernel, its gradient the PDF (its spike op);
- :mod:`.layers`: SRM neuron, sum pooling, weight-scaled synapses and the ``synapse -> neuron -> delay``
  block; the temporal credit assignment is the autograd adjoint of the shared PSP filter
  (:mod:`spikegrad.functional.psp`) and delays are the shared :class:`~spikegrad.nn.AxonalDelay`;
- :mod:`.loss`: NumSpikes and SpikeTime;
- :mod:`.nets`: the paper's networks.
"""

from spikegrad.rules.slayer.layers import (
    SLAYERBlock,
    SLAYERPool,
    SRMNeuron,
    SRMState,
    slayer_conv,
    slayer_dense,
)
from spikegrad.rules.slayer.loss import (
    CountTarget,
    NumSpikesLoss,
    SpikeTimeLoss,
    num_spikes_loss,
    predict_class,
    spike_time_loss,
)
from spikegrad.rules.slayer.spike import SpikeOutput, slayer_spike
from spikegrad.rules.slayer.srm import SRMParameters

__all__ = [
    "CountTarget",
    "NumSpikesLoss",
    "SLAYERBlock",
    "SLAYERPool",
    "SRMNeuron",
    "SRMParameters",
    "SRMState",
    "SpikeOutput",
    "SpikeTimeLoss",
    "num_spikes_loss",
    "predict_class",
    "slayer_conv",
    "slayer_dense",
    "slayer_spike",
    "spike_time_loss",
]
