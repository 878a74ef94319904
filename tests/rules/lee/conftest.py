"""A line-by-line port of the reference code's mechanics (chan8972/Enabling_Spikebased_Backpropagation,
``mnist_LeNet.py`` / ``cifar10_ResNet11.py``) to modern PyTorch, used as the oracle for Lee's gradient path.

Only the API was modernised: the legacy ``SpikingNN`` Function became a static one, ``Variable`` and
``.cuda()`` went away, hooks use default arguments instead of late-binding closures. The arithmetic is
the code's: ``F.threshold`` + subtraction for the hard reset, ``l * m.detach() + m - m.detach()`` for the
detached leak, ``out.detach() + out / thr - (out / thr).detach()`` for the 1/V_th gradient scaling, and
``grad_cal`` hooks on every hidden LIF spike tensor at every step.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F


class _SpikingNN(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.gt(0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        grad = grad_output.clone()
        grad[x <= 0.0] = 0
        return grad


def lif_sneuron(mem, threshold, leak):
    ex = F.threshold(mem, threshold, 0)
    mem = mem - ex
    out = _SpikingNN.apply(ex)
    mem = leak * mem.detach() + mem - mem.detach()
    out = out.detach() + out / threshold - (out / threshold).detach()
    return mem, out


def pooling_sneuron(mem, threshold):
    ex = F.threshold(mem, threshold, 0)
    mem = mem - ex
    return mem, _SpikingNN.apply(ex)


def grad_cal(leak, lf, total):
    total = total + (total < 1e-3).to(total.dtype)
    return lf.gt(1e-3).to(lf.dtype) + math.log(leak) * lf / total


class ReferenceLayer:
    """One hidden LIF layer of the reference code: membrane, LF/Total traces, the per-step spike list."""

    def __init__(self, leak=0.99, threshold=1.0):
        self.leak, self.threshold = leak, threshold
        self.mem = self.lf = self.total = None
        self.outs = []

    def step(self, current, mask=None, mask_before_trace=True):
        if self.mem is None:
            self.mem = torch.zeros_like(current)
            self.lf = torch.zeros_like(current)
            self.total = torch.zeros_like(current)
        self.mem = self.mem + current
        self.mem, out = lif_sneuron(self.mem, self.threshold, self.leak)
        if mask is not None and mask_before_trace:  # VGG9: mask, then LF_Unit
            out = out * mask
        self.lf = self.leak * self.lf + out
        self.total = self.total + out
        self.outs.append(out)
        if mask is not None and not mask_before_trace:  # ResNet11: LF_Unit, then mask
            out = out * mask
        return out

    def register_hooks(self):
        ng = grad_cal(self.leak, self.lf.detach(), self.total.detach())
        for out in self.outs:
            out.register_hook(lambda grad, ng=ng: grad * ng)


class ReferencePool:
    def __init__(self, threshold=0.75):
        self.threshold, self.mem = threshold, None

    def step(self, current):
        if self.mem is None:
            self.mem = torch.zeros_like(current)
        self.mem = self.mem + current
        self.mem, out = pooling_sneuron(self.mem, self.threshold)
        return out


def reference_output(currents_fn, steps, leak=0.99):
    """Run ``currents_fn(t) -> output-layer input current``; return the code's ``membrane_f1 / steps``."""
    membrane = None
    for t in range(steps):
        current = currents_fn(t)
        membrane = current if membrane is None else membrane + current
        membrane = leak * membrane.detach() + membrane - membrane.detach()
    return membrane / steps


@pytest.fixture
def reference():
    """The reference-code port: ``reference.ReferenceLayer``, ``reference.ReferencePool``, ..."""
    import types

    return types.SimpleNamespace(
        ReferenceLayer=ReferenceLayer, ReferencePool=ReferencePool, reference_output=reference_output,
        lif_sneuron=lif_sneuron, pooling_sneuron=pooling_sneuron, grad_cal=grad_cal,
    )
