"""Spike-based backpropagation of Lee, Sarwar, Panda, Srinivasan & Roy (2020).

- :mod:`.derivative`: the leak-corrected pseudo-derivative of the LIF activation (its gradient);
- :mod:`.scan`: the neuron scan with Lee's backward (only its gradient path differs from the shared
  scan) and the non-spiking output integrator;
- :mod:`.layers`: LIF, spiking average pooling, integrating readout, residual block, the network shell;
- :mod:`.loss`: summed squared error of the readout and the prediction;
- :mod:`.encoding`: the reference code's Poisson input (``p/2`` for MNIST, signed for CIFAR/SVHN);
- :mod:`.nets`: LeNet, VGG7/9, ResNet7/11.
"""

from spikegrad.rules.lee.derivative import (
    LeakCorrectedDerivative,
    SpikeGated,
    leak_correction,
    leaky_spike_trace,
)
from spikegrad.rules.lee.encoding import (
    lee_cifar_encode,
    lee_mnist_encode,
    lee_signed_encode,
)
from spikegrad.rules.lee.layers import (
    IntegratingReadout,
    LeeLayerConfig,
    LeeLIF,
    LeeNetwork,
    LeeNeuron,
    LeeResidualBlock,
    SpikingAvgPool2d,
)
from spikegrad.rules.lee.loss import lee_mse_loss, lee_prediction
from spikegrad.rules.lee.nets import build_lee_network
from spikegrad.rules.lee.scan import LeeGradientPath, lee_integrate, lee_neuron_scan

__all__ = [
    "IntegratingReadout",
    "LeakCorrectedDerivative",
    "LeeGradientPath",
    "LeeLIF",
    "LeeLayerConfig",
    "LeeNetwork",
    "LeeNeuron",
    "LeeResidualBlock",
    "SpikeGated",
    "SpikingAvgPool2d",
    "build_lee_network",
    "leak_correction",
    "leaky_spike_trace",
    "lee_cifar_encode",
    "lee_integrate",
    "lee_mnist_encode",
    "lee_mse_loss",
    "lee_neuron_scan",
    "lee_prediction",
    "lee_signed_encode",
]
