"""The world of a torchrun process: shares of a batch, random streams, gradient sums, and what is refused.

The processes themselves run in ``test_torchrun.py``; here one process checks the parts, the gradient sum in a
process group of one (where the sum over processes is the process's own gradient).
"""

from __future__ import annotations

import pytest
import torch
import torch.distributed as dist
from typer.testing import CliRunner

from spikegrad.cli import app
from spikegrad.data.sparse import SparseSpikes
from spikegrad.errors import ConfigError
from spikegrad.functional.neuron import Reset
from spikegrad.losses import rate_cross_entropy
from spikegrad.nn import LIF, Dense, SNNSequential
from spikegrad.train import (
    ClassificationExperiment,
    ClassificationParts,
    RunConfig,
    Settings,
    Trainer,
    apply_overrides,
    build_experiment,
    get_recipe,
)
from spikegrad.train.classification import dense_spikes
from spikegrad.train.distributed import SINGLE_PROCESS, World, torchrun_world, torchrun_world_size


@pytest.mark.parametrize("size", [1, 2, 3, 4])
@pytest.mark.parametrize("count", [0, 1, 2, 5, 22, 23])
def test_the_shares_of_a_batch_are_torch_tensor_split_in_rank_order(size, count):
    shares = [World(rank, size).shard(count) for rank in range(size)]
    expected = torch.arange(count).tensor_split(size)
    assert [list(range(count))[share] for share in shares] == [part.tolist() for part in expected]


def test_rank_zero_keeps_the_run_seed_and_every_other_rank_draws_its_own_stream():
    seeds = [World(rank, 4).stream(123) for rank in range(4)]
    assert seeds[0] == 123 == SINGLE_PROCESS.stream(123)
    assert len(set(seeds)) == 4


def test_one_process_sums_nothing_and_needs_no_process_group():
    assert not dist.is_initialized()
    assert SINGLE_PROCESS.sum(1.5, 2) == (1.5, 2)
    weight = torch.nn.Parameter(torch.ones(3))
    weight.grad = torch.full((3,), 2.0)
    SINGLE_PROCESS.reduce_gradients([weight])
    assert torch.equal(weight.grad, torch.full((3,), 2.0))


@pytest.fixture
def group_of_one():
    dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)
    yield
    dist.destroy_process_group()


def test_gradients_come_back_per_parameter_and_none_stays_where_no_process_gave_one(group_of_one):
    world = World(0, 2)  # a world of two whose other process gave nothing: the group of one sums only this one
    used, unused = torch.nn.Parameter(torch.zeros(2, 3)), torch.nn.Parameter(torch.zeros(4))
    double = torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))
    used.grad, double.grad = torch.arange(6.0).view(2, 3), torch.tensor([0.5, -1.0], dtype=torch.float64)
    world.reduce_gradients([used, unused, double])
    assert torch.equal(used.grad, torch.arange(6.0).view(2, 3)) and unused.grad is None
    assert double.grad.dtype == torch.float64 and torch.equal(double.grad, torch.tensor([0.5, -1.0], dtype=torch.float64))
    assert world.sum(1.5, 2) == (1.5, 2.0)


def _event_experiment() -> ClassificationExperiment:
    """Sparse event samples (as event and audio recipes keep them) of 11 steps x 16 inputs, 4 classes."""
    generator = torch.Generator().manual_seed(1)
    samples = SparseSpikes.from_dense([(torch.rand(11, 16, generator=generator) < 0.3).float() for _ in range(23)])
    labels = torch.randint(0, 4, (23,), generator=generator)
    config = RunConfig(recipe="events", settings=Settings(), eval_batch_size=10)
    network = SNNSequential(Dense(16, 4), LIF(tau_mem=5.0, reset=Reset.ZERO))
    return ClassificationExperiment(config, ClassificationParts(lambda split: (samples, labels), dense_spikes, network,
                                                                rate_cross_entropy))


def _image_experiment() -> ClassificationExperiment:
    """Poisson-coded digits: every share's encoding must be the whole batch's, drawn as one process draws it."""
    overrides = {"hidden": "[8]", "steps": "4", "test_limit": "23", "eval_batch_size": "10"}
    return build_experiment(apply_overrides(get_recipe("digits").defaults, overrides))


@pytest.mark.parametrize("make", [_event_experiment, _image_experiment])
def test_the_shares_evaluations_add_up_to_one_process_evaluation(group_of_one, make):
    # chunks of 10, 10 and 3 samples over 4 processes: shares of 3/3/2/2 and 1/1/1/0
    experiment, shares = make(), []
    whole = experiment.evaluate("test", torch.Generator().manual_seed(5))
    for rank in range(4):  # a group of one sums nothing: each rank's evaluation is its shares' alone
        experiment.distribute(World(rank, 4))
        shares.append(experiment.evaluate("test", torch.Generator().manual_seed(5)))
    assert sum(share["accuracy"] for share in shares) == pytest.approx(whole["accuracy"])
    assert sum(share["loss"] for share in shares) == pytest.approx(whole["loss"], rel=1e-6)
    assert 0 < whole["accuracy"] < 1 and all(share["samples"] == whole["samples"] for share in shares)


def test_only_rank_0_does_the_writers_work_and_its_error_is_raised(group_of_one):
    done = []
    World(1, 2).writer_does(lambda: done.append("rank 1"))
    World(0, 2).writer_does(lambda: done.append("rank 0"))
    assert done == ["rank 0"]

    def refuse():
        raise ConfigError("--out", "taken")

    with pytest.raises(ConfigError, match="'--out': taken"):
        World(0, 2).writer_does(refuse)


def test_a_spike_train_problem_refuses_several_processes():
    experiment = build_experiment(get_recipe("normad-xor").defaults)
    with pytest.raises(ConfigError, match="'torchrun'.*normad-xor.*one process"):
        Trainer(experiment, "unused", world=World(0, 2))


def test_a_classification_recipe_takes_the_world_it_is_given():
    config = apply_overrides(get_recipe("digits").defaults, {"hidden": "[8]", "steps": "2"})
    trainer = Trainer(build_experiment(config), "unused", world=World(1, 2))
    assert trainer.experiment.world == World(1, 2)
    assert trainer.console.quiet  # rank 1 prints nothing


def test_torchrun_world_size_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert torchrun_world_size() == 1
    monkeypatch.setenv("WORLD_SIZE", "3")
    assert torchrun_world_size() == 3
    monkeypatch.setenv("WORLD_SIZE", "two")
    with pytest.raises(ConfigError, match="'WORLD_SIZE'"):
        torchrun_world_size()


def test_one_gpu_for_all_processes_is_refused(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("LOCAL_RANK", "0")
    with pytest.raises(ConfigError, match="'device'.*cuda:LOCAL_RANK.*--device cuda"), torchrun_world("cuda:1"):
        pass
    assert not dist.is_initialized()


@pytest.mark.parametrize("command", [["eval", "run"], ["compare", "digits", "--methods", "bptt"], ["recipes"],
                                     ["export", "run"], ["analyze", "run"]])
def test_every_command_but_train_is_refused_under_torchrun(command):
    result = CliRunner().invoke(app, command, env={"WORLD_SIZE": "2"})
    assert result.exit_code == 1
    assert "'torchrun'" in result.output and "only `spikegrad train` runs on several" in result.output
