"""Run by ``test_torchrun.py`` under ``torchrun``: digits with every classifier rule on this process's share.

``python torchrun_worker.py OUT OVERRIDES_JSON`` trains, with the library's own world (gloo):

- ``OUT/<method>`` for each rule in one epoch; a rank > 0 is given ``OUT/<method>-rank<r>`` instead, so a file
  any of them wrote would show;
- ``OUT/three-then-one``: bptt for two epochs, cut (as Ctrl-C) at the start of the second, for the test to
  resume on one process;
- ``OUT/one-then-three``: the test's one-process run, cut the same way, resumed here.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from spikegrad.train import Trainer, build_experiment, get_recipe, read_config
from spikegrad.train.distributed import torchrun_world
from spikegrad.train.recipe_parts import CLASSIFIERS


def cut_in_epoch(trainer: Trainer, epoch: int) -> Trainer:
    """``trainer`` with its experiment interrupted (KeyboardInterrupt) when epoch ``epoch`` (1-based) starts."""
    train_epoch, calls = trainer.experiment.train_epoch, []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == epoch:
            raise KeyboardInterrupt
        return train_epoch(*args, **kwargs)

    trainer.experiment.train_epoch = interrupted
    return trainer


def main(out: Path, overrides: dict[str, str]) -> None:
    recipe = get_recipe("digits")
    with torchrun_world("cpu") as world:
        for method in CLASSIFIERS:
            run_dir = out / (method if world.rank == 0 else f"{method}-rank{world.rank}")
            config = recipe.configure({**overrides, "method": method})
            Trainer(build_experiment(config), run_dir, world=world).fit()
        config = recipe.configure({**overrides, "epochs": "2"})
        try:
            cut_in_epoch(Trainer(build_experiment(config), out / "three-then-one", world=world), 2).fit()
        except KeyboardInterrupt:
            pass
        resumed = out / "one-then-three"
        Trainer(build_experiment(read_config(resumed / "config.yaml")), resumed, world=world).fit(resume=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]), json.loads(sys.argv[2]))
