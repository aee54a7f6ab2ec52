"""Inference: a trained colorizer outside training, without Lightning, torchmetrics or torchvision.

checkpoints: rebuild the net from a checkpoint alone; photo: one photo, prepare -> net ->
full-resolution colour; pipeline: many photos in batches, as `colorizer.predict` runs them;
outputs: which files go where, written whole.
"""

from colorizer.inference.checkpoints import (
    CheckpointError,
    TrainedColorizer,
    checkpoint_label,
    checkpoint_paths,
    load_colorizer,
    load_colorizers,
    read_checkpoint,
)
from colorizer.inference.photo import (
    PreparedPhoto,
    batch_hints,
    colorize_prepared,
    full_resolution_image,
    full_resolution_packed,
    model_input,
    predict_ab,
    prepare_image,
    prepare_photo,
)

__all__ = [
    "CheckpointError",
    "PreparedPhoto",
    "TrainedColorizer",
    "batch_hints",
    "checkpoint_label",
    "checkpoint_paths",
    "colorize_prepared",
    "full_resolution_image",
    "full_resolution_packed",
    "load_colorizer",
    "load_colorizers",
    "model_input",
    "predict_ab",
    "prepare_image",
    "prepare_photo",
    "read_checkpoint",
]
