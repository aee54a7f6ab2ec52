"""Lightning's loggers, each arranged for the question every run asks: is the model above the
gray baseline, and since when. TensorBoard (`tensorboard`), Weights & Biases (`wandb_logger`)
and MLflow (`mlflow_logger`); a logger with `log_grid` shows the validation image grid, one
with `log_verdict` the test split's headline scores."""

from colorizer.training.loggers.mlflow_logger import ColorizerMLFlowLogger
from colorizer.training.loggers.tensorboard import (
    CUSTOM_SCALARS,
    HEADLINE_METRICS,
    VERDICT,
    ColorizerTensorBoardLogger,
    flatten,
    tensorboard_tag,
)
from colorizer.training.loggers.wandb_logger import ColorizerWandbLogger

__all__ = [
    "ColorizerMLFlowLogger",
    "ColorizerWandbLogger",
    "CUSTOM_SCALARS",
    "HEADLINE_METRICS",
    "VERDICT",
    "ColorizerTensorBoardLogger",
    "flatten",
    "tensorboard_tag",
]
