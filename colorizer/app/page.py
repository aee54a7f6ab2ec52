"""The Gradio page: upload (or pick an example), see gray input | each model | the original, with
the scores of each result and of the gray baseline under them, and download any result."""

import logging
from pathlib import Path

import gradio as gr
import numpy as np
from PIL import Image

from colorizer.app.hint_panel import HintPanel, mark_points
from colorizer.app.session import GRAY, ColorizedPhoto, PhotoColorizer, score_line
from colorizer.data.images import ImageDecodeError
from colorizer.data.synthetic import render_landscape
from colorizer.models.heads import DEFAULT_TEMPERATURE

log = logging.getLogger(__name__)

ACCEPTED = "JPEG, PNG, WebP, TIFF or BMP, in any mode (gray, colour, 16-bit, with transparency)"


def write_examples(directory: Path, count: int = 3, size: int = 512) -> list[Path]:
    """Procedural landscapes (the synthetic data's generator) as example photos, written once."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for seed in range(count):
        path = directory / f"landscape-{seed}.png"
        if not path.exists():
            Image.fromarray(render_landscape(np.random.default_rng(seed), size)).save(path)
        paths.append(path)
    return paths


def _caption(photo: ColorizedPhoto, label: str) -> str:
    if not photo.scores:
        return "*(the upload had no colour: nothing to score against)*"
    line = score_line(photo.scores[label])
    automatic = photo.automatic_scores.get(label)
    return line if automatic is None else f"{line} (without the hints: psnr {automatic['psnr']:.2f} dB)"


def build_page(colorizer: PhotoColorizer, examples: list[Path]) -> gr.Blocks:
    labels = list(colorizer.models)
    with gr.Blocks(title="colorizer", analytics_enabled=False) as page:
        gr.Markdown(
            "# colorizer\nUpload a photo (" + ACCEPTED + ") or pick an example. Each model colours it at full "
            "resolution, keeping its lightness; when the photo had colour, its scores against the original "
            "stand under each result beside the **gray baseline's** (predicting no colour at all)."
            + (
                "\n\n**Hints**: click the gray image to put a point of the chosen colour there; the models "
                "trained with hints follow it."
                if colorizer.takes_hints
                else ""
            )
        )
        with gr.Row():
            upload = gr.File(label="Photo", file_types=["image"], elem_id="upload")
            temperature = gr.Slider(
                0.0,
                1.0,
                value=colorizer.default_temperature or DEFAULT_TEMPERATURE,
                step=0.01,
                label="Temperature",
                info="Classification models: 1 = the mean colour (muted), towards 0 = the most likely one (vivid).",
                visible=colorizer.default_temperature is not None,
                elem_id="temperature",
            )
        gr.Examples([[str(path)] for path in examples], inputs=[upload], label="Examples")
        panel = HintPanel(colorizer) if colorizer.takes_hints else None
        status = gr.Markdown(elem_id="status")
        with gr.Row():
            with gr.Column(min_width=160):
                gray_image = gr.Image(label="gray input", format="png", buttons=["download"], elem_id="gray")
                gray_scores = gr.Markdown(elem_id="scores-gray")
            outputs = []
            for index, label in enumerate(labels):
                with gr.Column(min_width=160):
                    outputs.append(gr.Image(label=label, format="png", buttons=["download"], elem_id=f"result-{index}"))
                    outputs.append(gr.Markdown(elem_id=f"scores-{index}"))
            with gr.Column(min_width=160):
                original = gr.Image(label="original", format="png", buttons=["download"], elem_id="original")

        def cleared(message: str) -> list:
            return [message, None, "", *[None, ""] * len(labels), None]

        def render(path: str | None, temperature_value: float, points: list[dict] | None = None) -> list:
            if not path:
                return cleared("")
            name = Path(path).name
            try:
                chosen = temperature_value if colorizer.default_temperature is not None else None
                photo = colorizer.colorize_file(path, chosen, points)
            except ImageDecodeError as error:
                return cleared(f"**Could not read {name}**: {error}. Upload a {ACCEPTED}.")
            except Exception as error:  # the page must keep serving whatever one request hits
                log.exception("Colorizing %s failed", path)
                return cleared(f"**Colorizing {name} failed**: {type(error).__name__}: {error}")
            results = []
            for label in labels:
                results += [photo.results[label], _caption(photo, label)]
            width, height = photo.gray.size
            given = f" with {len(points)} hint{'s' * (len(points) != 1)}" if points else ""
            done = f"{name}: {width}x{height}, colorized{given} and scored in {photo.seconds:.2f} s."
            gray_caption = f"gray baseline: {score_line(photo.scores[GRAY])}" if photo.scores else ""
            gray = mark_points(photo.gray, points or [])
            return [done, gray, gray_caption, *results, photo.original]

        targets = [status, gray_image, gray_scores, *outputs, original]
        if panel is None:
            upload.change(render, inputs=[upload, temperature], outputs=targets, api_name="colorize")
            temperature.release(render, inputs=[upload, temperature], outputs=targets, api_visibility="private")
        else:
            panel.connect(render, upload, temperature, gray_image, targets)
    return page
