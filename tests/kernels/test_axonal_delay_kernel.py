"""The fused Triton axonal delay (shift and SLAYER's delay gradient) against the reference, under the interpreter."""

from __future__ import annotations

import pytest
import torch

from spikegrad.functional.delay import axonal_delay
from spikegrad.kernels import use_backend

pytestmark = pytest.mark.usefixtures("triton_kernels", "poisoned_memory")

CASES = {  # x shape, delay shape, Ts (ms): per-feature, per-channel (broadcast), shared, longer than T, T = 1
    "per-feature": ((9, 2, 5), (5,), 1.0),
    "per-channel": ((7, 3, 4, 3, 2), (4, 1, 1), 0.5),
    "shared": ((6, 2, 131), (), 1.0),
    "beyond-T": ((4, 2, 6), (6,), 1.0),
    "one-step": ((1, 3, 5), (5,), 1.0),
}


def _run(backend, x, delay, ts, g):
    x, delay = x.clone().requires_grad_(), delay.clone().requires_grad_()
    with use_backend(backend):
        y = axonal_delay(x, delay, ts)
        grads = torch.autograd.grad((y * g).sum(), (x, delay))
    return y.detach(), grads


@pytest.mark.parametrize("case", CASES, ids=str)
def test_shift_and_gradients_match_the_reference(case):
    shape, delay_shape, ts = CASES[case]
    x = torch.randn(shape)
    delay = torch.rand(delay_shape) * (2 * shape[0] if case == "beyond-T" else 4.0) * ts
    g = torch.randn(shape)
    ref_y, ref_grads = _run("reference", x, delay, ts, g)
    ker_y, ker_grads = _run("triton", x, delay, ts, g)
    assert torch.equal(ker_y, ref_y)  # a gather: exact
    assert torch.equal(ker_grads[0], ref_grads[0])
    torch.testing.assert_close(ker_grads[1], ref_grads[1], rtol=1e-5, atol=1e-5)
    assert ker_grads[1].shape == delay.shape


def test_several_distinct_delays_are_one_pass():
    x = torch.arange(24.0).view(4, 1, 6)
    delay = torch.tensor([0.0, 1.0, 2.0, 3.0, 1.5, 0.9])
    with use_backend("triton"):
        y = axonal_delay(x, delay, 1.0)
    expected = torch.stack([torch.cat([torch.zeros(k), x[: 4 - k, 0, f]]) for f, k in enumerate([0, 1, 2, 3, 1, 0])], 1)
    assert torch.equal(y[:, 0], expected)


def test_the_custom_ops_pass_opcheck():
    from spikegrad.kernels.axonal_delay import axonal_delay_op, delay_gradient_op, shift_op

    x, delay = torch.randn(5, 2, 3, requires_grad=True), (torch.rand(3) * 3).requires_grad_()
    torch.library.opcheck(axonal_delay_op, (x, delay, 1.0))
    torch.library.opcheck(delay_gradient_op, (torch.randn(5, 2, 3), torch.randn(5, 2, 3)))
    torch.library.opcheck(shift_op, (torch.randn(5, 2, 3), torch.tensor([0, 2, 7], dtype=torch.int32), -1))
