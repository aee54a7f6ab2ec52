"""The page's hints: click the gray image to put a colour point there, see the points listed and
drawn, remove one or clear them all; with a classification model, the most likely colours at
the clicked pixel as swatches to pick from (Zhang et al. 2017's data-driven palette)."""

import html
from collections.abc import Callable

import gradio as gr
from PIL import Image, ImageDraw

from colorizer.app.session import LikelyColour, PhotoColorizer

DEFAULT_COLOUR = "#c0392b"


def mark_points(image: Image.Image, points: list[dict]) -> Image.Image:
    """A copy of `image` with each point drawn as a square of its colour, outlined so it shows on
    any gray."""
    if not points:
        return image
    marked = image.copy()
    draw = ImageDraw.Draw(marked)
    radius = max(3, round(min(marked.size) / 80))
    for point in points:
        x, y = point["x"], point["y"]
        box = (x - radius, y - radius, x + radius, y + radius)
        draw.rectangle(box, fill=point["color"], outline="white", width=1)
        draw.rectangle((box[0] - 1, box[1] - 1, box[2] + 1, box[3] + 1), outline="black", width=1)
    return marked


def listing(points: list[dict]) -> str:
    if not points:
        return "*No hints: the models colour on their own. Click the gray image to add one.*"
    return "\n".join(f"{n}. ({p['x']}, {p['y']}) {p['color']}" for n, p in enumerate(points, start=1))


def swatch_strip(colours: list[LikelyColour]) -> str:
    cells = "".join(
        f'<span class="swatch" title="{html.escape(c.hex)}" style="display:inline-block;width:36px;height:24px;'
        f'margin-right:4px;border:1px solid #333;background:{html.escape(c.hex)}"></span>'
        for c in colours
    )
    return f'<div id="swatch-strip">{cells}</div>' if colours else ""


class HintPanel:
    """The hints controls, built where it is created inside a `gr.Blocks`, and their events."""

    def __init__(self, colorizer: PhotoColorizer) -> None:
        self.colorizer = colorizer
        self.points = gr.State([])
        with gr.Row():
            self.colour = gr.ColorPicker(value=DEFAULT_COLOUR, label="Hint colour", elem_id="hint-colour")
            with gr.Column():
                self.strip = gr.HTML(elem_id="swatches-shown")
                self.swatches = gr.Radio(
                    choices=[],
                    label="Likely colours at the last point (click one to use it)",
                    visible=False,
                    elem_id="swatches",
                )
            with gr.Column():
                self.listed = gr.Markdown(listing([]), elem_id="hint-list")
                self.choice = gr.Dropdown(choices=[], label="Point to remove", elem_id="hint-choice")
                with gr.Row():
                    self.remove = gr.Button("Remove point", elem_id="hint-remove")
                    self.clear = gr.Button("Clear hints", elem_id="hint-clear")

    def _state(self, points: list[dict], colours: list[LikelyColour] | None = None, colour: str | None = None) -> list:
        """The panel's outputs after a change: the points, their list and the swatches."""
        choices = [(f"{n}: ({p['x']}, {p['y']}) {p['color']}", str(n)) for n, p in enumerate(points, start=1)]
        swatches = [(f"{c.hex} ({c.probability:.0%})", c.hex) for c in colours or []]
        return [
            points,
            listing(points),
            gr.update(choices=choices, value=None),
            gr.update(choices=swatches, value=None, visible=bool(swatches)),
            swatch_strip(colours or []),
            colour if colour is not None else gr.update(),
        ]

    def connect(
        self, render: Callable[..., list], upload: gr.File, temperature: gr.Slider, gray: gr.Image, targets: list
    ) -> None:
        """Wire the upload, the temperature, clicks on `gray` and the panel's controls to `render`
        (path, temperature, points) -> `targets`."""
        panel = [self.points, self.listed, self.choice, self.swatches, self.strip, self.colour]

        def new_photo(path: str | None, temperature_value: float) -> list:
            return render(path, temperature_value, []) + self._state([])

        def clicked(
            path: str | None, temperature_value: float, points: list[dict], colour: str, event: gr.SelectData
        ) -> list:
            if not path:
                return render(path, temperature_value, points) + self._state(points)
            x, y = (int(v) for v in event.index)
            points = [*points, {"x": x, "y": y, "color": colour or DEFAULT_COLOUR}]
            colours = self.colorizer.likely_colours(path, x, y, points[:-1])
            return render(path, temperature_value, points) + self._state(points, colours)

        def picked(path: str | None, temperature_value: float, points: list[dict], swatch: str | None) -> list:
            if not points or not swatch:
                return render(path, temperature_value, points) + self._state(points)
            points = [*points[:-1], {**points[-1], "color": swatch}]
            return render(path, temperature_value, points) + self._state(points, colour=swatch)

        def removed(path: str | None, temperature_value: float, points: list[dict], choice: str | None) -> list:
            if choice:
                points = [p for n, p in enumerate(points, start=1) if str(n) != choice]
            return render(path, temperature_value, points) + self._state(points)

        def cleared(path: str | None, temperature_value: float) -> list:
            return render(path, temperature_value, []) + self._state([])

        def recoloured(path: str | None, temperature_value: float, points: list[dict]) -> list:
            return render(path, temperature_value, points) + self._state(points)

        outputs = targets + panel
        upload.change(new_photo, inputs=[upload, temperature], outputs=outputs, api_name="colorize")
        gray.select(clicked, inputs=[upload, temperature, self.points, self.colour], outputs=outputs)
        self.swatches.input(picked, inputs=[upload, temperature, self.points, self.swatches], outputs=outputs)
        self.remove.click(removed, inputs=[upload, temperature, self.points, self.choice], outputs=outputs)
        self.clear.click(cleared, inputs=[upload, temperature], outputs=outputs)
        temperature.release(
            recoloured, inputs=[upload, temperature, self.points], outputs=outputs, api_visibility="private"
        )
