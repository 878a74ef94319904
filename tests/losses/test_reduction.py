"""BatchReduction: weighted shard losses sum to the batch's loss, and every loss a recipe trains with is declared
with the reduction it has (probe: the loss of a batch given twice is the same for a mean, twice as large for a sum)."""

from __future__ import annotations

import pytest
import torch

from spikegrad.losses import BatchReduction, rate_cross_entropy
from spikegrad.rules.lee.loss import lee_mse_loss
from spikegrad.rules.na.loss import count_loss, trace_loss
from spikegrad.rules.na.neuron import NAParameters
from spikegrad.train import apply_overrides, build_experiment, get_recipe
from spikegrad.train.recipe_parts import CLASSIFIERS
from spikegrad.train.recipes.slayer import SRMSettings


def reduction_of(loss, output: torch.Tensor, labels: torch.Tensor) -> BatchReduction:
    """What ``loss`` does with a batch: the batch given twice keeps a mean and doubles a sum."""
    once, twice = loss(output, labels), loss(torch.cat([output, output], 1), torch.cat([labels, labels]))
    if torch.allclose(twice, once):
        return BatchReduction.MEAN
    assert torch.allclose(twice, 2 * once), f"{float(twice)} is neither {float(once)} nor twice it"
    return BatchReduction.SUM


@pytest.mark.parametrize(("loss", "reduction"), [(rate_cross_entropy, BatchReduction.MEAN),
                                                  (lee_mse_loss, BatchReduction.SUM)])
def test_weighted_shard_losses_sum_to_the_batch_loss(loss, reduction):
    output, labels = torch.rand(5, 7, 4), torch.randint(0, 4, (7,))
    shards = torch.arange(7).tensor_split(3)  # 3, 2, 2 samples
    total = sum(loss(output[:, s], labels[s]) * reduction.shard_weight(len(s), 7) for s in shards)
    torch.testing.assert_close(total, loss(output, labels))
    assert reduction_of(loss, output, labels) is reduction


@pytest.mark.parametrize("method", CLASSIFIERS)
def test_digits_declares_the_reduction_of_each_rules_loss(method):
    config = apply_overrides(get_recipe("digits").defaults, {"method": method, "hidden": "[16]", "steps": "5",
                                                             "train_limit": "8", "test_limit": "8"})
    experiment = build_experiment(config)
    inputs, labels = experiment.split("test")
    with torch.no_grad():
        output, _ = experiment.model(experiment.parts.encode(inputs, torch.Generator().manual_seed(0)))
    assert reduction_of(experiment.parts.loss, output, labels) is experiment.parts.reduction


def test_the_losses_of_the_slayer_and_na_recipes_have_their_declared_reductions():
    # slayer recipes: NumSpikes / B (declared MEAN); na recipes: trace and count losses (declared SUM)
    spikes, labels = (torch.rand(300, 3, 10) < 0.1).float(), torch.tensor([1, 4, 7])
    assert reduction_of(SRMSettings().loss(), spikes, labels) is BatchReduction.MEAN
    trace, params = torch.rand(20, 3, 10), NAParameters()
    assert reduction_of(lambda out, y: trace_loss(out, y, params), trace, labels) is BatchReduction.SUM
    assert reduction_of(lambda out, y: count_loss(out, y, 15.0, 2.0), trace, labels) is BatchReduction.SUM
