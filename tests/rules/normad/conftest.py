import pytest


@pytest.fixture(autouse=True)
def _one_thread(one_thread):
    """NormAD runs many small ops: one intra-op thread is fastest (the shared ``one_thread`` fixture)."""
