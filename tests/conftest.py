"""Shared fixtures: the real data folder beside the checkout, deterministic seeds."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the checkout (CI has it); skip the test when it is absent.

    Deliberate: the folder is the project's shared real-data store, not part of the repository, so a
    plain clone elsewhere still runs every test that writes its own files in the official formats.
    """
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent")
    return SHARED_DATA


@pytest.fixture
def one_thread():
    """One intra-op thread for the test (many small ops, or one per process under torchrun: faster on a
    loaded machine); the previous count afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
