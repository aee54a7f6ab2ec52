"""Videos through predict (frame count, rate, size and audio kept; damage handled; options), the
stabiliser (steadier on a static scene, a moving edge kept, a cut resets it), the flicker figure,
and memory on a long clip."""

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.helpers.commands import run_command
from tests.helpers.images import photo
from tests.helpers.run_if import needs

av = needs("av")
needs("cv2")

from colorizer.color.srgb_table import lightness, srgb_table  # noqa: E402
from colorizer.inference import load_colorizer  # noqa: E402
from colorizer.inference.hint_points import HintError  # noqa: E402
from colorizer.video.colorize import VideoColorizer  # noqa: E402
from colorizer.video.files import VideoOptions  # noqa: E402
from colorizer.video.flicker import FlickerMeter  # noqa: E402
from colorizer.video.hint_tracks import HintTracker  # noqa: E402
from colorizer.video.stabilize import TemporalStabilizer  # noqa: E402
from tests.helpers.memory import current_rss_mb  # noqa: E402
from tests.helpers.videos import cut, packets_of, pan, read_frames, write_clip, zoom  # noqa: E402


def source(width: int = 200, height: int = 150, seed: int = 0) -> np.ndarray:
    return np.asarray(photo(width, height, seed))


def predict_video(checkpoint: Path, source_path: Path, output: Path, *args: str):
    return run_command("predict", f"ckpt_path={checkpoint}", f"input={source_path}", f"output={output}", *args)


def stream_facts(path: Path) -> dict:
    with av.open(str(path)) as video:
        stream = video.streams.video[0]
        return {
            "rate": stream.average_rate,
            "size": (stream.codec_context.width, stream.codec_context.height),
            "frames": sum(1 for _ in video.decode(video=0)),
            "streams": [s.type for s in video.streams],
        }


def test_predict_colours_videos_keeping_rate_size_frame_count_and_audio(trained_checkpoints, tmp_path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    write_clip(folder / "pan.mp4", pan(source(), (96, 64), 30, 2.0), rate=24, audio=True, title="Harbour, 1931")
    write_clip(folder / "odd.avi", zoom(source(seed=1), (75, 51), 12), rate=10)  # odd sides: 4:4:4
    photo(80, 60, seed=2).save(folder / "still.jpg")
    result = predict_video(trained_checkpoints["unet"], folder, tmp_path / "out")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "3 written, 0 skipped, 0 failed" in result.stdout
    for name, rate, size, frames in (("pan.mp4", 24, (96, 64), 30), ("odd.avi", 10, (75, 51), 12)):
        facts = stream_facts(tmp_path / "out" / name)
        assert (facts["rate"], facts["size"], facts["frames"]) == (Fraction(rate), size, frames), name
    assert packets_of(folder / "pan.mp4", "audio") == packets_of(tmp_path / "out" / "pan.mp4", "audio")
    assert len(packets_of(folder / "pan.mp4", "audio")) > 10
    with av.open(str(tmp_path / "out" / "pan.mp4")) as written:
        assert written.metadata.get("title") == "Harbour, 1931", "the container's metadata is kept"
    # Each output frame has its input frame's own L (up to the encoders' rounding) and some colour.
    for original, coloured in zip(
        read_frames(folder / "pan.mp4"), read_frames(tmp_path / "out" / "pan.mp4"), strict=True
    ):
        L_in, L_out = lightness(original)[0], lightness(coloured)[0]
        assert (L_in - L_out).abs().mean() < 1.5
    assert not list((tmp_path / "out").glob(".*")), "a temporary file was left behind"


def test_a_video_cut_in_the_middle_gives_a_whole_output_and_says_where(trained_checkpoints, tmp_path) -> None:
    whole = write_clip(tmp_path / "whole.mkv", pan(source(), (96, 64), 60, 2.0), audio=True)
    damaged = tmp_path / "in" / "film.mkv"
    damaged.parent.mkdir()
    data = whole.read_bytes()
    damaged.write_bytes(data[: len(data) // 2])
    result = predict_video(trained_checkpoints["unet"], damaged.parent, tmp_path / "out")
    assert result.returncode == 1
    line = next(line for line in result.stdout.splitlines() if line.startswith("FAILED"))
    written = stream_facts(tmp_path / "out" / "film.mkv")["frames"]
    assert 5 < written < 60
    assert f"ended at frame {written} of about" in line and "film.mkv" in line
    assert "Traceback" not in result.stderr


def test_video_options_preview_and_window_and_a_wrong_value_named(trained_checkpoints, tmp_path) -> None:
    clip = write_clip(tmp_path / "clip.mp4", pan(source(), (64, 48), 50, 1.0), rate=25, audio=True)
    checkpoint = trained_checkpoints["unet"]
    preview = predict_video(checkpoint, clip, tmp_path / "a", "video.max_frames=7")
    assert preview.returncode == 0, preview.stderr[-2000:]
    assert stream_facts(tmp_path / "a" / "clip.mp4")["frames"] == 7
    window = predict_video(
        checkpoint, clip, tmp_path / "b", "video.start=0.4", "video.duration=0.8", "video.stabilize=none"
    )
    assert window.returncode == 0, window.stderr[-2000:]
    facts = stream_facts(tmp_path / "b" / "clip.mp4")
    assert facts["frames"] == 20 and facts["streams"] == ["video", "audio"]
    # The window's first frame is the source's frame 10 (0.4 s at 25 frames/s).
    first = read_frames(tmp_path / "b" / "clip.mp4")[0]
    distances = [float((lightness(first)[0] - lightness(frame)[0]).abs().mean()) for frame in read_frames(clip)]
    assert int(np.argmin(distances)) == 10
    wrong = predict_video(checkpoint, clip, tmp_path / "c", "video.stabilize=smooth")
    assert wrong.returncode != 0
    assert "video.stabilize='smooth'" in wrong.stderr and "Traceback" not in wrong.stderr


def test_the_progress_bar_counts_frames_against_the_expected_total_with_frames_per_second(
    trained_checkpoints, tmp_path
) -> None:
    from rich.progress import Progress

    clip = write_clip(tmp_path / "clip.mkv", pan(source(), (64, 48), 20, 1.0))
    device = torch.device("cpu")
    model = load_colorizer(trained_checkpoints["unet"], device)
    colorizer = VideoColorizer(model, device, srgb_table(), VideoOptions(), batch_size=8)
    with Progress(disable=True) as progress:
        result = colorizer.run(clip, tmp_path / "out.mkv", progress)
    (task,) = progress.tasks
    assert result.frames == task.completed == 20 and task.total in (20, 21)  # mkv: from the duration
    assert task.description.startswith("clip.mkv ") and task.description.endswith(" frames/s")


def textured_lightness(size: int = 64, seed: int = 0) -> np.ndarray:
    """8-bit L [size,size] with texture at several scales, so that flow is well defined."""
    return np.asarray(photo(size, size, seed).convert("L"))


def test_the_stabiliser_steadies_noisy_colour_on_a_static_scene() -> None:
    rng = np.random.default_rng(0)
    level = textured_lightness()
    base = np.stack([np.full((64, 64), 20.0), np.full((64, 64), -10.0)], axis=2).astype(np.float32)
    stabilizer = TemporalStabilizer()
    raw, steadied = [], []
    for _ in range(30):
        noisy = base + rng.normal(0, 4, base.shape).astype(np.float32)
        raw.append(noisy)
        steadied.append(stabilizer(level, noisy))
    raw_change = np.abs(np.diff(np.stack(raw[10:]), axis=0)).mean()
    steady_change = np.abs(np.diff(np.stack(steadied[10:]), axis=0)).mean()
    assert steady_change < 0.4 * raw_change
    assert np.abs(steadied[-1] - base).mean() < np.abs(raw[-1] - base).mean()  # nearer the truth, too


def test_the_stabiliser_keeps_a_moving_edge_where_it_is() -> None:
    """A bright red square slides over a dark textured ground; the prediction is exact each
    frame. Carried by the flow, the steadied colour stays on the square; a blend that did not
    follow the motion would leave a trail behind it."""
    ground = (textured_lightness(96, seed=3) // 3).astype(np.uint8)
    stabilizer = TemporalStabilizer()
    for step in range(16):
        level, ab = ground.copy(), np.zeros((96, 96, 2), np.float32)
        left = 10 + 3 * step
        level[30:60, left : left + 30] = 230
        ab[30:60, left : left + 30] = (40.0, 30.0)
        steadied = stabilizer(level, ab)
    trail = steadied[30:60, left - 9 : left - 1]  # where the square was a few frames ago
    inside = steadied[33:57, left + 3 : left + 27]
    assert np.abs(trail).mean() < 3.0, "the colour was left behind the moving square"
    assert np.abs(inside - (40.0, 30.0)).mean() < 3.0
    assert np.abs(steadied - ab).mean() < 1.0


def test_a_scene_cut_resets_the_stabiliser() -> None:
    stabilizer = TemporalStabilizer()
    first_scene, second_scene = textured_lightness(seed=0), 255 - textured_lightness(seed=5)
    for _ in range(10):
        stabilizer(first_scene, np.full((64, 64, 2), 30.0, np.float32))
    new_colour = np.full((64, 64, 2), -30.0, np.float32)
    assert np.array_equal(stabilizer(second_scene, new_colour), new_colour)
    assert stabilizer.cuts == 1


def test_the_flicker_figure_is_zero_for_steady_colour_and_grows_with_flicker() -> None:
    rng = np.random.default_rng(1)
    photo_rgb = source(240, 120, seed=4)
    meter = FlickerMeter()
    for frame in pan(photo_rgb, (160, 120), 12, 2.0):
        level = lightness(frame)[1].numpy()
        steady = np.full((120, 160, 2), 10.0, np.float32)
        noisy = {f"flicker {sigma}": steady + rng.normal(0, sigma, steady.shape).astype(np.float32) for sigma in (2, 8)}
        meter.update(level, {"steady": steady, **noisy})
    scores = meter.mean()
    assert scores["steady"] < 0.05
    assert 1.5 < scores["flicker 2"] < scores["flicker 8"] / 2


def test_a_generated_cut_clip_is_cut_where_made() -> None:
    frames = list(cut(pan(source(seed=0), (96, 64), 5), pan(source(seed=7), (96, 64), 5)))
    stabilizer = TemporalStabilizer()
    for frame in frames:
        stabilizer(lightness(frame)[1].numpy(), np.zeros((64, 96, 2), np.float32))
    assert stabilizer.cuts == 1


@pytest.mark.slow
def test_memory_stays_flat_over_a_long_clip(trained_checkpoints, tmp_path) -> None:
    """2,000 frames through the streaming pipeline: resident memory at frame 2,000 within 10 % of
    what it was at frame 200."""
    frames = (np.asarray(photo(64, 48, seed=index % 7)) for index in range(2000))
    clip = write_clip(tmp_path / "long.mp4", frames, audio=True)
    device = torch.device("cpu")
    colorizer = VideoColorizer(
        load_colorizer(trained_checkpoints["unet"], device), device, srgb_table(), VideoOptions()
    )
    samples: list[tuple[int, float]] = []

    class Progress:  # the part of rich's Progress that the pipeline uses, sampling memory per batch
        def add_task(self, *args, **kwargs) -> int:
            return 0

        def update(self, task: int, completed: int, **kwargs) -> None:
            samples.append((completed, current_rss_mb()))

    result = colorizer.run(clip, tmp_path / "out.mp4", Progress())
    assert result.frames == 2000 and result.error is None, result
    at_200 = next(rss for frames, rss in samples if frames >= 200)
    at_2000 = samples[-1][1]
    assert at_2000 <= 1.10 * at_200, f"{at_200:.0f} MB at frame 200, {at_2000:.0f} MB at 2,000"


def mask_centre(hints: torch.Tensor) -> tuple[float, float]:
    """(x, y) of the centre of the hint patches' mask in hint channels [1,3,S,S]."""
    ys, xs = torch.nonzero(hints[0, 2], as_tuple=True)
    return float(xs.float().mean()), float(ys.float().mean())


def test_hint_points_follow_the_picture_and_end_at_a_cut() -> None:
    texture = textured_lightness(128, seed=2)
    points = [{"x": 20, "y": 30, "color": "#d02020"}, {"x": 40, "y": 10, "color": "#2040d0", "frame": 3}]
    tracker = HintTracker(points, model_size=64, side=3)
    for step in range(8):  # the camera pans: the picture moves 2 pixels right a frame
        hints = tracker(np.ascontiguousarray(texture[32:96, 40 - 2 * step : 104 - 2 * step]), (64, 64))
        if step == 2:
            x, y = mask_centre(hints)
            assert abs(x - 24) <= 1 and abs(y - 30) <= 1, (x, y)
            assert hints[0, 0].max() > 0.3, "a red point: a* well above 0"
        if step in (3, 7):  # the second point joins on its frame; each is where its spot went
            assert (hints[0, 2].sum() == 18) and (hints[0, 1] < -0.3).any(), "two patches of 3x3, one blue"
    first_x, first_y = tracker.carried[0].x, tracker.carried[0].y
    assert abs(first_x - (20 + 2 * 7)) <= 1.5 and abs(first_y - 30) <= 1.0
    assert abs(tracker.carried[1].x - (40 + 2 * 4)) <= 1.5
    assert tracker(255 - textured_lightness(64, seed=5), (64, 64)) is None, "a new scene drops them"


def test_hint_points_on_a_film_say_which_point_is_wrong() -> None:
    with pytest.raises(HintError, match=r"point 2 .*frame=-1 is not a frame number"):
        HintTracker([{"x": 1, "y": 1, "color": "#ffffff"}, {"x": 1, "y": 1, "color": "#ffffff", "frame": -1}], 32)
    unused = HintTracker([{"x": 1, "y": 1, "color": "#ffffff", "frame": 5}], 32)
    for _ in range(3):
        assert unused(textured_lightness(32), (32, 32)) is None
    assert unused.unused_frames() == [5], "a point past the end is reported, not lost silently"
    tracker = HintTracker([{"x": 500, "y": 1, "color": "#ffffff", "frame": 1}], 32)
    assert tracker(textured_lightness(32), (96, 64)) is None
    with pytest.raises(HintError, match=r"point 1 .*\(frame 1\): \(x=500, y=1\) is outside the 96x64 image"):
        tracker(textured_lightness(32), (96, 64))


def test_predict_carries_a_films_hints_with_the_shipped_model(tmp_path) -> None:
    """A red point on the first frame of a still shot: every frame is red there, and not without it."""
    clip, hints = tmp_path / "in" / "still.mp4", tmp_path / "hints.json"
    clip.parent.mkdir()
    write_clip(clip, pan(source(200, 150, seed=3), (96, 64), 8, 0.0), rate=8)
    hints.write_text('{"still.mp4": [{"x": 48, "y": 32, "color": "#e01010", "frame": 0}]}')
    redness = {}
    for name, extra in (("plain", []), ("hinted", [f"hints_file={hints}"])):
        result = run_command("predict", f"input={clip.parent}", f"output={tmp_path / name}", "hint_side=9", *extra)
        assert result.returncode == 0, result.stderr[-2000:]
        frames = read_frames(tmp_path / name / "still.mp4")
        redness[name] = [float(frame[26:38, 42:54, 0].mean() - frame[26:38, 42:54, 1:].mean()) for frame in frames]
    assert len(redness["hinted"]) == 8
    assert min(h - p for h, p in zip(redness["hinted"], redness["plain"], strict=True)) > 50, redness
