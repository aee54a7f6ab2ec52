"""The page as a user meets it: served by `python -m colorizer.app`, driven in headless Chromium.
The pipeline behind it (colours, scores, alpha) is checked without a browser first."""

import io
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import torch
from kornia.color import rgb_to_lab
from PIL import Image

from colorizer.inference import load_colorizer
from tests.helpers.config import TINY, compose_config
from tests.helpers.images import write_images
from tests.helpers.run_if import chromium_path, needs
from tests.helpers.server_process import free_port
from tests.helpers.servers import CHROMIUM_FLAGS, stop, wait_for_http

needs("gradio")


def pixel_ab(rgb: np.ndarray) -> torch.Tensor:
    """CIELAB a, b of one 8-bit RGB pixel."""
    return rgb_to_lab(torch.tensor(rgb, dtype=torch.float32).view(1, 3, 1, 1) / 255)[0, 1:, 0, 0]


def photo_with_alpha(path: Path, size: tuple[int, int] = (96, 64)) -> Image.Image:
    rgb = np.random.default_rng(3).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    alpha = np.full((size[1], size[0]), 200, dtype=np.uint8)
    alpha[:, : size[0] // 3] = 0
    image = Image.fromarray(np.dstack([rgb, alpha]), mode="RGBA")
    image.save(path)
    return image


@pytest.mark.slow
def test_session_colours_scores_and_keeps_alpha(trained_checkpoints, tmp_path) -> None:
    from colorizer.app.session import GRAY, PhotoColorizer

    device = torch.device("cpu")
    colorizer = PhotoColorizer({"unet": load_colorizer(trained_checkpoints["unet"], device)}, device)
    colour_photo = write_images(tmp_path, 1, size=(90, 60))[0]
    result = colorizer.colorize_file(colour_photo)
    assert result.results["unet"].size == (90, 60) and result.original is not None
    assert set(result.scores) == {GRAY, "unet"}
    assert result.scores[GRAY]["colorfulness"] < 0.5 < result.scores["unet"]["colorfulness"] + 1
    assert 0 < result.scores[GRAY]["psnr"] < 60 and -1 <= result.scores["unet"]["ssim"] <= 1

    gray_photo = tmp_path / "gray.png"
    Image.fromarray(np.asarray(Image.open(colour_photo).convert("L"))).save(gray_photo)
    assert colorizer.colorize_file(gray_photo).scores == {}, "nothing to score a gray upload against"

    original = photo_with_alpha(tmp_path / "rgba.png")
    transparent = colorizer.colorize_file(tmp_path / "rgba.png")
    output = transparent.results["unet"]
    assert output.mode == "RGBA" and np.array_equal(np.asarray(output)[..., 3], np.asarray(original)[..., 3])
    # The colour channels were coloured as they are, not composited onto white first.
    expected_l = np.asarray(original.convert("RGB").convert("L"), dtype=np.int16)
    got_l = np.asarray(output.convert("RGB").convert("L"), dtype=np.int16)
    assert np.abs(expected_l - got_l)[:, :30].mean() < 12


def test_session_temperature_recolours_classification_models(tmp_path) -> None:
    from colorizer.app.session import PhotoColorizer
    from colorizer.train import train

    cfg = compose_config([*TINY, "model/head=classification", "loss=classification"], tmp_path / "run")
    train(cfg)
    device = torch.device("cpu")
    model = load_colorizer(tmp_path / "run" / "checkpoints" / "last.ckpt", device)
    colorizer = PhotoColorizer({"classes": model}, device)
    assert colorizer.default_temperature == pytest.approx(0.38)
    photo = write_images(tmp_path / "photos", 1, size=(64, 48))[0]
    mean, mode = (np.asarray(colorizer.colorize_file(photo, t).results["classes"], dtype=int) for t in (1.0, 0.01))
    assert np.abs(mean - mode).max() > 0, "the temperature changes the colours"
    trained = np.asarray(colorizer.colorize_file(photo).results["classes"], dtype=int)
    again = np.asarray(colorizer.colorize_file(photo, 0.38).results["classes"], dtype=int)
    assert np.array_equal(trained, again), "no temperature: the trained one"


@pytest.mark.slow
def test_app_says_what_is_missing(tmp_path) -> None:
    command = [sys.executable, "-m", "colorizer.app", "ckpt_path=/nonexistent.ckpt", f"hydra.run.dir={tmp_path}"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "does not exist" in result.stderr and "Traceback" not in result.stderr


@contextmanager
def serving(checkpoints: list[Path], folder: Path) -> Iterator[str]:
    """`python -m colorizer.app` with `checkpoints` on a free loopback port: its URL."""
    port = free_port()
    log = folder / "app.log"
    paths = f"ckpt_paths=[{','.join(map(str, checkpoints))}]"
    with log.open("w") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "colorizer.app", paths, f"port={port}", f"hydra.run.dir={folder / 'run'}"],
            stdout=handle,
            stderr=subprocess.STDOUT,
            env={**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"},
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_for_http(url, process, log)
        yield url
    finally:
        stop(process)


@pytest.fixture
def app_server(trained_checkpoints, tmp_path):
    """The page with two tiny checkpoints."""
    with serving([trained_checkpoints["unet"], trained_checkpoints["cae"]], tmp_path) as url:
        yield url


@pytest.mark.slow
def test_page_in_a_real_browser(app_server, tmp_path) -> None:
    playwright = needs("playwright.sync_api").sync_playwright
    chromium = chromium_path()
    photo = write_images(tmp_path / "photos", 1, size=(120, 80))[0]
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n this is not an image")

    with playwright() as driver:
        browser = driver.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS[1:])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(app_server)
        upload = page.locator("#upload input[type=file]")

        def uploaded(path: Path, expected: str) -> str:
            """Upload as a user would (clearing the last file first) and wait for the status line."""
            clear = page.locator("#upload button[aria-label=Clear]")
            if clear.count():
                clear.click()
                page.wait_for_function("document.querySelector('#status').innerText.trim() === ''")
            upload.set_input_files(str(path))
            page.wait_for_function(
                "text => document.querySelector('#status').innerText.includes(text)", arg=expected, timeout=60_000
            )
            return page.locator("#status").inner_text()

        assert "colorized and scored" in uploaded(photo, "colorized and scored")
        for element in ("#gray", "#result-0", "#result-1", "#original"):
            image = page.locator(f"{element} img").first
            image.wait_for(timeout=30_000)
            # The element can be in place before its data is decoded, on a busy machine noticeably so.
            page.wait_for_function("img => img.complete", arg=image.element_handle(), timeout=30_000)
            assert image.evaluate("img => img.naturalWidth") == 120, element
        assert "gray baseline: psnr" in page.locator("#scores-gray").inner_text()
        for index in (0, 1):
            assert "ssim" in page.locator(f"#scores-{index}").inner_text()
        page.screenshot(path=str(tmp_path / "app.png"), full_page=True)
        assert (tmp_path / "app.png").stat().st_size > 20_000

        message = uploaded(broken, "Could not read")
        assert "broken.png" in message and "Traceback" not in page.content()
        assert "colorized and scored" in uploaded(photo, "colorized and scored"), "the page still works"
        browser.close()


@pytest.fixture
def hints_app_server(hints_checkpoints, tmp_path):
    """The page with a regression and a classification hints checkpoint."""
    with serving([hints_checkpoints["regression"], hints_checkpoints["classification"]], tmp_path) as url:
        yield url


@pytest.mark.slow
def test_hints_on_the_page_in_a_real_browser(hints_app_server, tmp_path) -> None:
    """Pick a colour, click the gray image at a known pixel: the hints model's result there moves
    towards that colour, the page lists the point and the scores with and without it; the
    classifier's likely colours appear as swatches and picking one recolours the point; clear
    returns to the automatic result."""
    playwright = needs("playwright.sync_api").sync_playwright
    chromium = chromium_path()
    photo = write_images(tmp_path / "photos", 1, size=(120, 80))[0]
    target, x, y = np.array([32, 96, 224]), 30, 40

    with playwright() as driver:
        browser = driver.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS[1:])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(hints_app_server)

        def status_says(text: str) -> str:
            page.wait_for_function(
                "text => document.querySelector('#status').innerText.includes(text)", arg=text, timeout=60_000
            )
            return page.locator("#status").inner_text()

        def result_pixel() -> np.ndarray:
            source = page.locator("#result-0 img").first.get_attribute("src")
            with urllib.request.urlopen(source, timeout=30) as response:
                return np.asarray(Image.open(io.BytesIO(response.read())).convert("RGB")).astype(int)[y, x]

        page.locator("#upload input[type=file]").set_input_files(str(photo))
        status_says("colorized and scored")
        assert "No hints" in page.locator("#hint-list").inner_text()
        automatic = result_pixel()
        page.locator("#hint-colour button.dialog-button").click()
        page.locator("#hint-colour input[type=text]").fill("#2060e0")
        page.locator("#hint-colour input[type=text]").press("Enter")
        page.locator("#status").click()  # closes the colour dialog
        image = page.locator("#gray img").first
        box = image.bounding_box()
        width, height = image.evaluate("img => [img.naturalWidth, img.naturalHeight]")
        image.click(position={"x": (x + 0.5) * box["width"] / width, "y": (y + 0.5) * box["height"] / height})
        assert "colorized with 1 hint" in status_says("with 1 hint")
        assert f"({x}, {y}) #2060e0" in page.locator("#hint-list").inner_text()
        assert "without the hints: psnr" in page.locator("#scores-0").inner_text()
        hinted = result_pixel()
        # Lightness stays the photo's: the hint moves the colour (ab), measured in Lab units.
        distance = {
            name: float((pixel_ab(rgb) - pixel_ab(target)).norm())
            for name, rgb in (("automatic", automatic), ("hinted", hinted))
        }
        assert distance["hinted"] < distance["automatic"] - 5, distance

        swatches = page.locator("#swatches label")
        swatches.first.wait_for(timeout=30_000)
        assert swatches.count() == 5 and page.locator("#swatch-strip .swatch").count() == 5
        chosen = swatches.first.inner_text().split()[0]
        swatches.first.click()
        page.wait_for_function(
            "text => document.querySelector('#hint-list').innerText.includes(text)", arg=chosen, timeout=60_000
        )
        page.locator("#hint-clear").click()
        page.wait_for_function("document.querySelector('#hint-list').innerText.includes('No hints')", timeout=60_000)
        status_says("colorized and scored")
        assert np.array_equal(result_pixel(), automatic), "clear: the automatic result again"
        browser.close()
