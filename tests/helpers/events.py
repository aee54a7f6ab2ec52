"""Reading what a run wrote for TensorBoard."""

from pathlib import Path

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader


def tensorboard_events(run_dir: Path) -> list[EventAccumulator]:
    """Every TensorBoard event file of a run (`<run_dir>/tensorboard`), loaded whole; at least one."""
    files = sorted((run_dir / "tensorboard").glob("events.out.tfevents.*"))
    assert files, f"no TensorBoard event file in {run_dir / 'tensorboard'}"
    events = []
    for file in files:
        accumulator = EventAccumulator(str(file), size_guidance={"images": 0, "scalars": 0})
        accumulator.Reload()
        events.append(accumulator)
    return events


def event_tags(run_dir: Path) -> dict[str, list[str]]:
    """The scalar and image tags a run logged, over all its event files."""
    tags: dict[str, list[str]] = {"scalars": [], "images": []}
    for events in tensorboard_events(run_dir):
        for kind in tags:
            tags[kind] += events.Tags()[kind]
    return tags


def hparams_tags(run_dir: Path) -> set[str]:
    """Tags written by TensorBoard's hparams plugin (what the HPARAMS tab reads), in any run below."""
    tags = set()
    for file in (run_dir / "tensorboard").rglob("events.out.tfevents.*"):
        for event in EventFileLoader(str(file)).Load():
            tags |= {v.tag for v in event.summary.value if v.metadata.plugin_data.plugin_name == "hparams"}
    return tags
