"""A self-contained HTML page for looking at where models fail: worst images first."""

import base64
import html
import io
from pathlib import Path

import torch
from PIL import Image

from colorizer.color import gray_rgb, rebuild_rgb
from colorizer.data.base import ColorizationDataModule
from colorizer.data.transforms import lab_batch
from colorizer.evaluation.plots import HINTS_PLOT
from colorizer.evaluation.scoring import Evaluation, format_value, table_columns

STYLE = """
body { font-family: system-ui, sans-serif; margin: 24px; color: #222; }
table { border-collapse: collapse; margin-bottom: 24px; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: right; vertical-align: top; }
th:first-child, td:first-child { text-align: left; }
#images th { text-align: center; }
figure { margin: 0; text-align: center; font-size: 12px; }
img { width: 160px; height: 160px; object-fit: contain; image-rendering: pixelated; display: block; }
img.plot { width: auto; height: auto; max-width: 720px; image-rendering: auto; margin-bottom: 24px; }
"""


def png_data_uri(rgb: torch.Tensor) -> str:
    """A [3,H,W] image in [0, 1] as an embedded PNG."""
    array = (rgb.clamp(0, 1) * 255 + 0.5).byte().permute(1, 2, 0).cpu().numpy()
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure(rgb: torch.Tensor, caption: str, alt: str) -> str:
    image = f'<img src="{png_data_uri(rgb)}" alt="{html.escape(alt)}">'
    return f"<td><figure>{image}<figcaption>{caption}</figcaption></figure></td>"


def _summary_table(summary: dict[str, dict[str, float]]) -> str:
    columns = table_columns(summary)
    head = "<th>model</th>" + "".join(f"<th>{c}</th>" for c in columns)
    body = "".join(
        f"<tr><td>{html.escape(name)}</td>" + "".join(f"<td>{format_value(values[c])}</td>" for c in columns) + "</tr>"
        for name, values in summary.items()
    )
    return f'<table id="summary"><tr>{head}</tr>{body}</table>'


def _plot_image(plot: Path, element_id: str, alt: str) -> str:
    """A plot that `write_results` drew, embedded (empty without one)."""
    if not plot.is_file():
        return ""
    uri = "data:image/png;base64," + base64.b64encode(plot.read_bytes()).decode("ascii")
    return f'<img id="{element_id}" class="plot" src="{uri}" alt="{alt}">'


def write_html_report(path: Path, evaluation: Evaluation, datamodule: ColorizationDataModule) -> Path:
    """Write report.html: the summary table, then one row per image that `evaluation` kept as the
    worst (gray | each model | truth) with each prediction's psnr / ssim / ΔE, worst first."""
    worst = evaluation.worst
    models, order = list(evaluation.summary), worst.rows
    ranking_model = models[0]
    images = datamodule.split_images(evaluation.split, order)
    L = lab_batch(images)["L"]
    predictions = {name: rebuild_rgb(L, ab) for name, ab in worst.ab.items()}
    grays, truths = gray_rgb(L), images.float() / 255

    model_headers = "".join(f"<th>{html.escape(name)}</th>" for name in models)
    rows = []
    for row, index in enumerate(order.tolist()):
        name = evaluation.names[index]
        cells = [f"<td>{html.escape(name)}</td>", _figure(grays[row], "gray input", f"gray {name}")]
        for model in models:
            scores = {k: float(v[index]) for k, v in evaluation.per_image[model].items()}
            caption = f"psnr {scores['psnr']:.2f} · ssim {scores['ssim']:.3f} · ΔE {scores['delta_e']:.1f}"
            cells.append(_figure(predictions[model][row], caption, f"{model} {name}"))
        cells.append(_figure(truths[row], "truth", f"truth {name}"))
        rows.append('<tr class="image-row">' + "".join(cells) + "</tr>")

    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>colorizer report</title><style>{STYLE}</style></head>
<body>
<h1>Colorization report</h1>
<p>Split <b>{html.escape(evaluation.split)}</b>, {len(evaluation.names)} images. <code>gray</code> predicts no colour,
<code>mean_ab</code> the training set's mean colour; <code>psnr_gain</code> is psnr minus the gray baseline's.</p>
{_summary_table(evaluation.summary)}
{_plot_image(path.parent / "tradeoff.png", "tradeoff", "psnr_gain against colorfulness_ratio per model")}
{_plot_image(path.parent / HINTS_PLOT, "hints", "psnr_gain against the number of hints per model")}
<h2>The {len(order)} images with the lowest psnr for {html.escape(ranking_model)}, worst first</h2>
<table id="images"><tr><th>image</th><th>gray input</th>{model_headers}<th>truth</th></tr>
{"".join(rows)}
</table>
</body></html>
"""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
