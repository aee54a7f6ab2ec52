"""Learning-rate schedules torch lacks in a config-friendly form."""

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR


class MultiStepGammaLR(LambdaLR):
    """Multiply the learning rate by `gammas[i]` at epoch `milestones[i]`.

    Like MultiStepLR but with one factor per milestone, e.g. report 000's 1e-4 → 5e-5 at
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
