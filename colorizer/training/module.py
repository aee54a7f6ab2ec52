"""The LightningModule: any colorization net with any loss, logging every term and metric."""

import logging
from collections.abc import Callable, Iterable
from typing import Any

import torch
from lightning.pytorch import LightningModule
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler, ReduceLROnPlateau

from colorizer.evaluation.metrics import ColorizationMetrics
from colorizer.losses import CompositeLoss, LossInputs, LossResult
from colorizer.models.base import ColorizationNet
from colorizer.models.heads import fit_bin_priors, temperature_of
from colorizer.models.outputs import NetOutput
from colorizer.training.optimization import lightning_scheduler, parameter_groups, scale_group_lrs, step_schedulers

log = logging.getLogger(__name__)


class NonFiniteLossError(RuntimeError):
    """The training loss became NaN or infinite."""


OptimizerFactory = Callable[[Iterable[torch.nn.Parameter]], Optimizer]
SchedulerFactory = Callable[[Optimizer], LRScheduler | ReduceLROnPlateau]


class ColorizationModule(LightningModule):
    """Trains `net` (L [B,1,H,W] -> ab [B,2,H,W]) with `loss`; validates and tests with the
    full metric set and the gray baseline.

    Batches are dicts with "L" [B,1,H,W] and "ab" [B,2,H,W] (see `CachedDataModule`).
    `optimizer` and `scheduler` are factories (Hydra `_partial_: true`). `config` is the run's
    resolved configuration, saved in every checkpoint so the model can be rebuilt from it alone.
    `channels_last`: NHWC activations (faster in oneDNN and cuDNN); `compile`: torch.compile the
    net's `colorize`, the call training makes (`nn.Module.compile` would compile only `forward`).
    The net's pretrained parameters learn at its `pretrained_lr_mult` times the rate.
    `hint_simulator` draws hints from the true ab of training batches for a net that takes them.

    A loss term that trains a network of its own (the adversarial term's discriminator) brings
    its own optimiser; the module then optimises manually: per batch, one step of each such
    network on the detached prediction, then one step of the net on the whole loss.
    """

    def __init__(
        self,
        net: ColorizationNet,
        loss: CompositeLoss,
        optimizer: OptimizerFactory,
        scheduler: SchedulerFactory | None = None,
        scheduler_monitor: str = "val/psnr",  # the config's `monitor`
        config: dict[str, Any] | None = None,
        channels_last: bool = True,
        compile: bool = False,
        hint_simulator: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        super().__init__()
        self.net = net
        self.loss = loss
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.scheduler_monitor = scheduler_monitor
        self.config = config
        self.hint_simulator = hint_simulator
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.net.to(memory_format=self.memory_format)
        self.net_colorize = torch.compile(self.net.colorize) if compile else self.net.colorize
        # The training set's mean normalised ab, set at fit start: the `mean_ab` baseline of `evaluate`.
        self.register_buffer("train_mean_ab", torch.zeros(2))
        self.val_metrics = ColorizationMetrics()
        self.test_metrics = ColorizationMetrics()
        self.automatic_optimization = not self.loss.adversaries()

    def forward(self, L: torch.Tensor) -> torch.Tensor:
        return self.net(L.contiguous(memory_format=self.memory_format))

    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.net.parameters())

    def on_fit_start(self) -> None:
        log.info("%s: %s trainable parameters", type(self.net).__name__, f"{self.parameter_count():,}")
        datamodule = getattr(self.trainer, "datamodule", None)
        if datamodule is not None and hasattr(datamodule, "train_mean_ab"):
            self.train_mean_ab.copy_(datamodule.train_mean_ab())
        if datamodule is not None:
            fit_bin_priors(self.net, datamodule)
        scaler = getattr(self.trainer.precision_plugin, "scaler", None)
        if not self.automatic_optimization and scaler is not None:
            raise ValueError(
                "The adversarial term steps its discriminator outside Lightning's loss scaling, so it cannot "
                "train under precision=16-mixed. Use trainer.precision=bf16-mixed or 32-true."
            )

    def _stop_on_non_finite(self, batch: dict[str, torch.Tensor], total: torch.Tensor) -> None:
        """Stop with a message naming the step and the terms that went non-finite."""
        with torch.no_grad():
            result, _ = self.score(batch)
        bad = [f"{name}={value.item()}" for name, value in result.terms.items() if not torch.isfinite(value)]
        bad = bad or [f"total={total.item()}"]
        params_finite = all(torch.isfinite(p).all() for p in self.net.parameters())
        raise NonFiniteLossError(
            f"The training loss became non-finite at global step {self.global_step} (epoch {self.current_epoch}): "
            f"{', '.join(bad)}; the weights are {'finite' if params_finite else 'no longer finite'}. "
            "Training stopped; the checkpoints and logs written so far are kept. Try a lower optimizer.lr, "
            "gradient clipping (trainer.gradient_clip_val=1.0) or trainer.precision=32-true."
        )

    def net_output(self, batch: dict[str, torch.Tensor]) -> NetOutput:
        """The net's output for a batch, with its "hints" or, in training, simulated ones."""
        hints, simulate = batch.get("hints"), self.training and self.net.hints and self.hint_simulator is not None
        hints = self.hint_simulator(batch["ab"]) if hints is None and simulate else hints
        return self.net_colorize(batch["L"].contiguous(memory_format=self.memory_format), hints)

    def score(self, batch: dict[str, torch.Tensor]) -> tuple[LossResult, torch.Tensor]:
        """The loss of the net's prediction for a batch, and the predicted ab [B,2,H,W]."""
        output = self.net_output(batch)
        return self.weighted_loss(self.loss_inputs(batch, output)), output.ab

    def weighted_loss(self, inputs: LossInputs) -> LossResult:
        """The loss terms and their weighted total at this step, in fp32 (see `loss_inputs`)."""
        with torch.autocast(self.device.type, enabled=False):
            return self.loss(inputs, step=self.global_step)

    @staticmethod
    def loss_inputs(batch: dict[str, torch.Tensor], output: NetOutput) -> LossInputs:
        """What the loss terms see. Under bf16-mixed only the nets run in bf16: the terms' colour
        conversion and convolutions (SSIM, VGG) stay fp32, as the Lab hook before them does."""
        kl = None if output.kl is None else output.kl.float()
        return LossInputs(batch["L"], output.ab.float(), batch["ab"], kl, output.classes)

    def _log_loss(self, result: LossResult, stage: str, batch_size: int) -> None:
        on_step = stage == "train"
        self.log(f"{stage}/loss", result.total, prog_bar=True, on_step=on_step, on_epoch=True, batch_size=batch_size)
        for name, value in result.terms.items():
            self.log(f"{stage}/loss_{name}", value, on_step=on_step, on_epoch=True, batch_size=batch_size)

    def _loss(self, batch: dict[str, torch.Tensor], stage: str) -> tuple[torch.Tensor, torch.Tensor]:
        result, pred_ab = self.score(batch)
        self._log_loss(result, stage, batch["L"].shape[0])
        return result.total, pred_ab

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor | None:
        if not self.automatic_optimization:
            return self._adversarial_training_step(batch)
        total, _ = self._loss(batch, "train")
        if not torch.isfinite(total):
            self._stop_on_non_finite(batch, total)
        # A net with nothing to learn (the gray baseline) is only validated and tested.
        return total if total.requires_grad else None

    def _adversarial_training_step(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Step every adversary (discriminator) on the detached prediction, then the net on its whole
        loss against the updated adversaries."""
        net_optimizer, *adversary_optimizers = self.optimizers()
        batch_size = batch["L"].shape[0]
        output = self.net_output(batch)
        inputs = self.loss_inputs(batch, output)
        adversaries = self.loss.adversaries()
        for (name, term), optimizer in zip(adversaries.items(), adversary_optimizers, strict=True):
            with torch.autocast(self.device.type, enabled=False):
                adversary_loss = term.adversary_loss(inputs)
            optimizer.zero_grad()
            self.manual_backward(adversary_loss)
            # The raw optimiser: Lightning counts every wrapped step as a global step (Lightning
            # issue #17958), and global_step must count batches for schedules, warm-ups and checkpoints.
            optimizer.optimizer.step()
            self.log(f"train/{name}_adversary_loss", adversary_loss, on_step=True, on_epoch=True, batch_size=batch_size)
        self.toggle_optimizer(net_optimizer)  # the adversaries' weights take no gradient from the net's loss
        result = self.weighted_loss(inputs)
        self._log_loss(result, "train", batch_size)
        if not torch.isfinite(result.total):
            self._stop_on_non_finite(batch, result.total)
        net_optimizer.zero_grad()
        self.manual_backward(result.total)
        net_optimizer.step()
        self.untoggle_optimizer(net_optimizer)
        return result.total.detach()

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        if not self.automatic_optimization:
            # Manual optimisation leaves the LR schedules to the module.
            step_schedulers(self.trainer.lr_scheduler_configs, "step", self.trainer.callback_metrics)

    def on_train_epoch_start(self) -> None:
        self.net.on_train_epoch_start(self.current_epoch)

    def on_train_epoch_end(self) -> None:
        if not self.automatic_optimization:
            step_schedulers(self.trainer.lr_scheduler_configs, "epoch", self.trainer.callback_metrics)

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        _, pred_ab = self._loss(batch, "val")
        self.val_metrics.update(batch["L"], pred_ab, batch["ab"])

    def test_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        _, pred_ab = self._loss(batch, "test")
        self.test_metrics.update(batch["L"], pred_ab, batch["ab"])

    def _log_metrics(self, metrics: ColorizationMetrics, stage: str) -> None:
        values = metrics.compute()
        for name, value in values.items():
            self.log(f"{stage}/{name}", value, prog_bar=name in ("psnr", "psnr_gain"))
        temperature = temperature_of(self.net)
        if temperature is not None:
            self.log(f"{stage}/temperature", temperature)
        metrics.reset()

    def on_validation_epoch_end(self) -> None:
        self._log_metrics(self.val_metrics, "val")

    def on_test_epoch_end(self) -> None:
        self._log_metrics(self.test_metrics, "test")

    def configure_optimizers(self) -> Any:
        groups = parameter_groups(self.net, self.net.pretrained_lr_mult)
        if not groups:
            return None
        optimizer = scale_group_lrs(self.optimizer_factory(groups))
        adversary_optimizers = [term.configure_optimizer() for term in self.loss.adversaries().values()]
        if self.scheduler_factory is None:
            return [optimizer, *adversary_optimizers] if adversary_optimizers else optimizer
        net_config = {
            "optimizer": optimizer,
            "lr_scheduler": lightning_scheduler(
                self.scheduler_factory,
                optimizer,
                self.scheduler_monitor,
                total_steps=lambda: int(self.trainer.estimated_stepping_batches),
            ),
        }
        if not adversary_optimizers:
            return net_config
        return [net_config, *({"optimizer": o} for o in adversary_optimizers)]

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["colorizer_config"] = self.config
