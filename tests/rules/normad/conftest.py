import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    """NormAD runs many small ops: one intra-op thread is fastest, and much faster on a loaded machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
