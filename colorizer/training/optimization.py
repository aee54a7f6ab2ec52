"""Learning rates: the net's parameter groups (pretrained weights at their own rate), one schedule
torch lacks in a config-friendly form, and how a schedule is stepped."""

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from torch import nn
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR, ReduceLROnPlateau


class MultiStepGammaLR(LambdaLR):
    """Multiply the learning rate by `gammas[i]` at epoch `milestones[i]`.

    Like MultiStepLR but with one factor per milestone, e.g. 1e-4 → 5e-5 at
    epoch 30 → 1e-5 at epoch 60 is `milestones=[30, 60], gammas=[0.5, 0.2]`.
    """

    def __init__(self, optimizer: Optimizer, milestones: list[int], gammas: list[float], last_epoch: int = -1) -> None:
        if len(milestones) != len(gammas):
            raise ValueError(f"scheduler milestones {milestones} and gammas {gammas} must have the same length.")
        self.milestones, self.gammas = list(milestones), list(gammas)
        super().__init__(optimizer, self.factor, last_epoch)

    def factor(self, epoch: int) -> float:
        value = 1.0
        for milestone, gamma in zip(self.milestones, self.gammas, strict=True):
            if epoch >= milestone:
                value *= gamma
        return value


def parameter_groups(net: nn.Module, pretrained_lr_mult: float = 1.0) -> list[dict[str, Any]]:
    """`net`'s trainable parameters as optimiser groups: the new ones, and the pretrained ones (its
    `pretrained_parameters()`, if any) with `lr_mult` = `pretrained_lr_mult`, which `scale_group_lrs` applies."""
    pretrained = {id(p) for p in net.pretrained_parameters()}
    trainable = [p for p in net.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in trainable if id(p) not in pretrained], "lr_mult": 1.0},
        {"params": [p for p in trainable if id(p) in pretrained], "lr_mult": pretrained_lr_mult},
    ]
    return [group for group in groups if group["params"]]


def scale_group_lrs(optimizer: Optimizer) -> Optimizer:
    """Multiply each parameter group's learning rate by its `lr_mult` (1 when absent), before any
    schedule reads the groups' starting rates."""
    for group in optimizer.param_groups:
        group["lr"] *= group.get("lr_mult", 1.0)
    return optimizer


def lightning_scheduler(
    factory: Callable[..., Any], optimizer: Optimizer, monitor: str, total_steps: Callable[[], int]
) -> dict[str, Any]:
    """Lightning's scheduler entry for a scheduler factory (Hydra `_partial_: true`).

    A schedule that takes `total_steps` (torch's OneCycleLR) spans the whole run, `total_steps()`
    optimizer steps, and is stepped after each, peaking at its `max_lr` times each group's
    `lr_mult`; any other is stepped once per epoch (ReduceLROnPlateau on `monitor`).
    """
    if "total_steps" in inspect.signature(factory).parameters:
        # OneCycleLR sets every group to one max_lr unless given a list: keep each group's lr_mult.
        peak = getattr(factory, "keywords", {}).get("max_lr")
        per_group = {} if peak is None else {"max_lr": [peak * g.get("lr_mult", 1.0) for g in optimizer.param_groups]}
        return {"scheduler": factory(optimizer, total_steps=total_steps(), **per_group), "interval": "step"}
    return {"scheduler": factory(optimizer), "monitor": monitor, "interval": "epoch"}


def step_schedulers(configs: list[Any], interval: str, metrics: Mapping[str, Any]) -> None:
    """Step, by hand, each of Lightning's scheduler `configs` whose interval is `interval` ("step"
    or "epoch"), as Lightning does under automatic optimisation: ReduceLROnPlateau on its monitored
    metric from `metrics` (not yet logged: not stepped)."""
    for config in configs:
        if config.interval != interval:
            continue
        if isinstance(config.scheduler, ReduceLROnPlateau):
            value = metrics.get(config.monitor)
            if value is not None:
                config.scheduler.step(value)
        else:
            config.scheduler.step()
