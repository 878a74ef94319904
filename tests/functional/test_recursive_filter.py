import pytest
import torch

from spikegrad.errors import ConfigError, ShapeError
from spikegrad.functional.recursive_filter import CHUNK_STEPS, exponential_filter


def _recursion(x, decay, initial):
    y, out = initial, []
    for x_t in x:
        y = decay * y + x_t
        out.append(y)
    return torch.stack(out)


@pytest.mark.parametrize("steps", [1, 7, CHUNK_STEPS, CHUNK_STEPS + 1, 3 * CHUNK_STEPS**2 + 5])
@pytest.mark.parametrize("with_initial", [False, True])
def test_matches_the_step_recursion(steps, with_initial):
    generator = torch.Generator().manual_seed(steps)
    x = torch.randn(steps, 2, 3, generator=generator, dtype=torch.float64)
    initial = torch.randn(2, 3, generator=generator, dtype=torch.float64) if with_initial else torch.zeros(2, 3, dtype=torch.float64)
    y = exponential_filter(x, 0.97, initial if with_initial else None)
    torch.testing.assert_close(y, _recursion(x, 0.97, initial), rtol=0, atol=1e-12)


def test_impulse_gives_powers_of_the_decay():
    x = torch.zeros(5, 1, dtype=torch.float64)
    x[0] = 2.0
    assert exponential_filter(x, 0.5).flatten().tolist() == [2.0, 1.0, 0.5, 0.25, 0.125]


def test_rejects_bad_arguments():
    with pytest.raises(ConfigError, match="decay"):
        exponential_filter(torch.zeros(3, 1), 1.5)
    with pytest.raises(ShapeError, match="initial"):
        exponential_filter(torch.zeros(3, 2), 0.5, torch.zeros(3))
