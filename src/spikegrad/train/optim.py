"""Optimiser and learning-rate schedule from a :class:`RunConfig`."""

from __future__ import annotations

from typing import Any, Iterable

import torch

from spikegrad.train.config import RunConfig


def build_optimizer(config: RunConfig, groups: Iterable[dict[str, Any]]) -> torch.optim.Optimizer:
    """The run's optimiser over parameter groups; a group's ``lr_scale`` (default 1) multiplies ``config.lr``."""
    param_groups = []
    for group in groups:
        group = dict(group)
        scale = group.pop("lr_scale", 1.0)
        param_groups.append({**group, "params": [p for p in group["params"] if p.requires_grad], "lr": config.lr * scale})
    if config.optimizer == "sgd":
        return torch.optim.SGD(param_groups, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(param_groups, lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.Adam(param_groups, lr=config.lr, weight_decay=config.weight_decay)


def build_schedule(config: RunConfig, optimizer: torch.optim.Optimizer) -> torch.optim.lr_scheduler.LRScheduler:
    """Per-epoch schedule: constant, cosine to 0 over ``epochs``, exponential or multi-step decay."""
    if config.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs)
    if config.schedule == "exponential":
        return torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=config.lr_gamma)
    if config.schedule == "step":
        return torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=list(config.lr_milestones), gamma=config.lr_gamma)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda epoch: 1.0)
