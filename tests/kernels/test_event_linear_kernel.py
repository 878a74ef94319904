"""The fused Triton event-driven synapse (gather forward, CSC weight gradient) against the reference, under the
interpreter."""

from __future__ import annotations

import pytest
import torch

from spikegrad.errors import ConfigError
from spikegrad.functional.event_linear import ActiveInputs, event_linear
from spikegrad.kernels import kernel_for, use_backend

pytestmark = pytest.mark.usefixtures("triton_kernels", "poisoned_memory")

CASES = {  # input shape [..., in], outputs, density, signed spikes: odd sizes, several blocks of outputs
    "spikes": ((7, 3, 13), 5, 0.3, False),
    "signed": ((5, 2, 11), 9, 0.4, True),
    "several-blocks": ((4, 6, 29), 300, 0.2, False),
    "one-step": ((1, 2, 3), 1, 0.7, False),
    "flat": ((9, 17), 130, 0.25, True),
}


def _input(shape, density, signed):
    x = (torch.rand(shape) < density).float()
    x[..., 0, :] = 0  # an empty row (one per leading index)
    return x * torch.where(torch.rand(shape) < 0.5, -1.0, 1.0) if signed else x


def _run(backend, x, weight, bias, g, input_grad):
    x = x.clone().requires_grad_(input_grad)
    weight = weight.clone().requires_grad_()
    bias = None if bias is None else bias.clone().requires_grad_()
    leaves = [t for t in (x, weight, bias) if t is not None and t.requires_grad]
    with use_backend(backend):
        y = event_linear(x, weight, bias)
        grads = torch.autograd.grad((y * g).sum(), leaves)
    return [y.detach(), *grads]


@pytest.mark.parametrize("input_grad", [True, False], ids=["input-grad", "no-input-grad"])
@pytest.mark.parametrize("with_bias", [True, False], ids=["bias", "no-bias"])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_output_and_gradients_match_the_reference(case, with_bias, input_grad):
    shape, n_out, density, signed = CASES[case]
    x = _input(shape, density, signed)
    weight, bias = torch.randn(n_out, shape[-1]), torch.randn(n_out) if with_bias else None
    g = torch.randn(*shape[:-1], n_out)
    ref = _run("reference", x, weight, bias, g, input_grad)
    ker = _run("triton", x, weight, bias, g, input_grad)
    assert len(ker) == len(ref) == 2 + int(input_grad) + int(with_bias)
    for k, r in zip(ker, ref):
        assert k.shape == r.shape
        torch.testing.assert_close(k, r, rtol=1e-5, atol=1e-5)


def test_an_all_zero_input_gives_the_bias_and_a_zero_weight_gradient():
    x, weight, bias = torch.zeros(3, 2, 6), torch.randn(4, 6), torch.randn(4)
    g = torch.randn(3, 2, 4)
    y, grad_x, grad_w, grad_b = _run("triton", x, weight, bias, g, True)
    assert torch.equal(y, bias.expand(3, 2, 4))
    assert torch.equal(grad_w, torch.zeros(4, 6))
    torch.testing.assert_close(grad_x, g @ weight)
    torch.testing.assert_close(grad_b, g.sum((0, 1)))


def test_the_weight_gradient_sums_each_column_over_its_active_rows():
    x = torch.tensor([[1.0, 0.0, -1.0], [0.0, 0.0, 1.0], [2.0, 0.0, 0.0]])
    g = torch.tensor([[1.0, 10.0], [100.0, 1000.0], [0.5, 0.25]])
    _, grad_w = _run("triton", x, torch.randn(2, 3), None, g, False)
    assert torch.equal(grad_w, torch.tensor([[2.0, 0.0, 99.0], [10.5, 0.0, 990.0]]))


def test_other_calls_fall_back_or_raise_when_forced():
    x, weight = torch.ones(2, 3, dtype=torch.float64), torch.ones(4, 3, dtype=torch.float64)
    with pytest.raises(ConfigError, match="float32"):
        event_linear(x, weight)
    with use_backend("auto"):  # CPU tensors: the reference
        assert kernel_for("event_linear", x.float(), weight.float(), None) is None
        torch.testing.assert_close(event_linear(x, weight), x @ weight.t())


def test_the_custom_ops_pass_opcheck():
    from spikegrad.kernels.event_linear import event_linear_op, weight_gradient_op

    x, weight, bias = _input((4, 3, 7), 0.3, True), torch.randn(5, 7), torch.randn(5)
    active = ActiveInputs(x.reshape(-1, 7))
    coords = (active.rows, active.cols, active.row_start, active.values)
    torch.library.opcheck(event_linear_op, (x.requires_grad_(), weight.requires_grad_(), bias.requires_grad_(),
                                            *coords))
    torch.library.opcheck(event_linear_op, (x.detach(), weight, None, *coords))
    torch.library.opcheck(weight_gradient_op, (torch.randn(12, 5), active.rows, active.cols, active.values, 7))
    torch.library.opcheck(weight_gradient_op, (torch.randn(12, 5), active.rows, active.cols, None, 7))
