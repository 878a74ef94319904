"""Multi-process training under ``torchrun``: which process this is, its share of a batch, the reductions.

``torchrun --nproc_per_node N -m spikegrad train ...`` starts N processes with ``WORLD_SIZE``, ``RANK`` and
``LOCAL_RANK`` in their environment. :func:`torchrun_world` joins them in a process group (gloo for a CPU
run; NCCL for ``--device cuda``, each process on ``cuda:LOCAL_RANK``), yields the :class:`World` and leaves
the group at the end; outside torchrun it yields the single process and starts nothing.

Data parallelism, as DistributedDataParallel does it, with the gradients meeting after the backward pass:

- every process holds the whole model and starts from rank 0's weights (:meth:`World.broadcast`);
- ``batch_size`` is the global batch: every process draws the same shuffled order and the same random
  encoding and augmentation of each global batch (as one process would), then runs the network on its
  contiguous share (:meth:`World.shard`);
- each process weights its share's loss (:meth:`~spikegrad.losses.BatchReduction.shard_weight`: ``b / B``
  for a batch-mean loss, 1 for a batch-sum loss) and, after its backward pass, the gradients are summed
  across processes (:meth:`World.reduce_gradients`): every process then holds the gradient of the global
  batch's loss, as one process with the whole batch would, and takes the same optimiser step.

Why not the DistributedDataParallel wrapper: DDP averages gradients inside autograd hooks while the
backward pass runs. A rule that writes ``param.grad`` itself (NormAD's :meth:`Experiment.backward`) never
triggers those hooks; a process whose share of the last batch is empty (fewer samples than processes)
has no forward pass to run, and DDP requires one from every process at every step; and DDP's average
would have to be undone for batch-sum losses. One all-reduce of a flat buffer after the backward pass
serves every rule; what it gives up is DDP's overlap of communication with the backward pass.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Callable, Iterator

import torch
import torch.distributed as dist
from torch import nn

from spikegrad.errors import ConfigError, SpikegradError

_STREAM_STRIDE = 1_000_000_007  # separates the random streams of the processes (see World.stream)
_CPU = torch.device("cpu")


def torchrun_world_size() -> int:
    """The number of processes torchrun started (``WORLD_SIZE``), 1 outside torchrun."""
    value = os.environ.get("WORLD_SIZE", "1")
    if not value.isdigit() or int(value) < 1:
        raise ConfigError("WORLD_SIZE", f"expected a number of processes >= 1 from torchrun, got {value!r}")
    return int(value)


@dataclasses.dataclass(frozen=True)
class World:
    """This process (``rank``) among ``size`` processes; collectives run on ``device`` (gloo: the CPU)."""

    rank: int = 0
    size: int = 1
    device: torch.device = _CPU

    @property
    def is_writer(self) -> bool:
        """Rank 0 alone writes the run directory and prints."""
        return self.rank == 0

    def shard(self, count: int) -> slice:
        """This process's contiguous share of ``count`` samples, the first ``count % size`` shares one larger
        (as :func:`torch.tensor_split`); empty when ``count`` is less than the rank + 1."""
        base, extra = divmod(count, self.size)
        start = self.rank * base + min(self.rank, extra)
        return slice(start, start + base + (self.rank < extra))

    def stream(self, seed: int) -> int:
        """The seed of this process's own random stream drawn from ``seed`` (torch's global generator:
        dropout masks): ``seed`` itself on rank 0, so one process draws what it always drew."""
        return (seed + self.rank * _STREAM_STRIDE) % (2**63 - 1)

    def sum(self, *values: float) -> tuple[float, ...]:
        """Each of ``values`` summed over the processes (in float64)."""
        if self.size == 1:
            return values
        total = torch.tensor(values, dtype=torch.float64, device=self.device)
        dist.all_reduce(total)
        return tuple(total.tolist())

    def reduce_gradients(self, parameters: list[nn.Parameter]) -> None:
        """Sum the gradients of ``parameters`` over the processes, one flat buffer per dtype. A parameter
        keeps ``grad = None`` only where no process gave it a gradient (an optimiser then skips it, as it
        would in one process); elsewhere a missing gradient counts as zeros."""
        if self.size == 1:
            return
        for dtype in dict.fromkeys(p.dtype for p in parameters):
            group = [p for p in parameters if p.dtype == dtype]
            grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in group]
            given = torch.tensor([p.grad is not None for p in group], dtype=dtype, device=group[0].device)
            flat = torch.cat([*(g.reshape(-1) for g in grads), given])
            dist.all_reduce(flat)
            *parts, counts = flat.split([*(p.numel() for p in group), len(group)])
            for parameter, part, count in zip(group, parts, counts.tolist()):
                parameter.grad = part.view_as(parameter) if count > 0 else None

    def writer_does(self, action: Callable[[], None]) -> None:
        """Run ``action`` on rank 0 alone (e.g. creating the run directory). Where it raises a
        :class:`~spikegrad.errors.SpikegradError`, every other process raises one with the same message,
        so that none waits for rank 0 in a collective it will never join."""
        error = None
        if self.is_writer:
            try:
                action()
            except SpikegradError as err:
                error = err
        if self.size > 1:
            message = [None if error is None else str(error)]
            dist.broadcast_object_list(message, 0)
            if error is None and message[0] is not None:
                raise SpikegradError(f"rank 0 stopped: {message[0]}")
        if error is not None:
            raise error

    def broadcast(self, module: nn.Module) -> None:
        """Give every process rank 0's parameters and buffers."""
        if self.size > 1:
            for tensor in module.state_dict().values():
                dist.broadcast(tensor, 0)


SINGLE_PROCESS = World()
"""The world of a run outside torchrun."""


@contextlib.contextmanager
def torchrun_world(device: str) -> Iterator[World]:
    """The world of this process for a run on ``device`` (a run option: ``cpu`` or ``cuda``); see the module
    docstring. Under torchrun with N > 1 processes the process group is joined here and left at the end.

    Raises:
        ConfigError: ``device`` names one GPU (``cuda:N``), while each process takes ``cuda:LOCAL_RANK``, or
            there are fewer GPUs than processes on this node.
    """
    size = torchrun_world_size()
    if size == 1:
        yield SINGLE_PROCESS
        return
    rank, local_rank = int(os.environ["RANK"]), int(os.environ["LOCAL_RANK"])
    if device.startswith("cuda:"):
        raise ConfigError("device", f"under torchrun each process uses cuda:LOCAL_RANK; give --device cuda, not {device!r}")
    if device == "cuda":
        if local_rank >= torch.cuda.device_count():
            raise ConfigError("device", f"process {rank} has LOCAL_RANK {local_rank}, and this machine has "
                              f"{torch.cuda.device_count()} CUDA device(s): start at most that many per node")
        torch.cuda.set_device(local_rank)
        backend, collectives = "nccl", torch.device("cuda", local_rank)
    else:
        backend, collectives = "gloo", torch.device("cpu")
    dist.init_process_group(backend)
    try:
        yield World(rank, size, collectives)
        dist.barrier()  # no process leaves the group while another still writes or talks (gloo aborts then)
    finally:
        dist.destroy_process_group()
