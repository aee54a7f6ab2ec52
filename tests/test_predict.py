import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from kornia.color import rgb_to_lab
from PIL import Image

from colorizer.color.srgb_table import TABLE_FILE
from colorizer.data.images import open_photo
from colorizer.device import use_bf16
from tests.helpers.commands import run_command
from tests.helpers.images import bomb_png, photo


def lightness(image: Image.Image) -> torch.Tensor:
    rgb = torch.from_numpy(np.array(image.convert("RGB"))).permute(2, 0, 1)[None].float() / 255
    return rgb_to_lab(rgb)[:, 0] / 100


@pytest.fixture
def messy_folder(tmp_path: Path) -> dict[str, Path]:
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    photo(768, 512).save(folder / "big.jpg", quality=92)
    photo(300, 450, seed=1).save(folder / "sub" / "portrait.png")
    good_jpeg = (folder / "big.jpg").read_bytes()
    (folder / "truncated.jpg").write_bytes(good_jpeg[: len(good_jpeg) // 2])
    (folder / "text.png").write_text("this is not a PNG")
    rgba = np.dstack([np.array(photo(64, 48, seed=2)), np.linspace(0, 255, 64 * 48).reshape(48, 64).astype(np.uint8)])
    Image.fromarray(rgba).save(folder / "rgba.png")
    translucent = np.dstack([np.array(photo(72, 40, seed=5)), np.full((40, 72), 200, np.uint8)])
    Image.fromarray(translucent).save(folder / "rgba200.webp", lossless=True)
    gray_with_alpha = np.dstack([np.array(photo(50, 30, seed=6).convert("L")), np.tile(np.arange(50) * 5, (30, 1))])
    Image.fromarray(gray_with_alpha.astype(np.uint8), mode="LA").save(folder / "la.tif")
    Image.fromarray(np.array(photo(80, 60, seed=3).convert("L")).astype(np.uint16) * 257).save(folder / "gray16.png")
    Image.new("RGB", (1, 1), (200, 120, 40)).save(folder / "tiny.png")
    rotated = photo(60, 40, seed=4)
    exif = rotated.getexif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to display
    rotated.save(folder / "rotated.jpg", exif=exif, quality=95)
    bomb_png(folder / "bomb.png")
    return {"folder": folder, "output": tmp_path / "out"}


def predict_cli(checkpoint: Path, *args: str) -> subprocess.CompletedProcess:
    return run_command("predict", f"ckpt_path={checkpoint}", *args, timeout=300)


@pytest.mark.slow
def test_predict_a_messy_folder(trained_checkpoints, messy_folder, tmp_path) -> None:
    folder, output = messy_folder["folder"], messy_folder["output"]
    args = [f"input={folder}", f"output={output}", f"hydra.run.dir={tmp_path / 'run'}", "compare=true"]
    result = predict_cli(trained_checkpoints["unet"], *args)
    assert result.returncode == 1, "bad files make the exit code non-zero"
    valid = [
        "big.jpg",
        "sub/portrait.png",
        "rgba.png",
        "rgba200.webp",
        "la.tif",
        "gray16.png",
        "tiny.png",
        "rotated.jpg",
    ]
    for name in valid:
        source, target = folder / name, output / name
        assert target.is_file(), f"{name} was not written\n{result.stdout}"
        (original, alpha), written = open_photo(source), Image.open(target)
        assert written.size == original.size, name
        assert (written.mode == "RGBA") == (alpha is not None), f"{name}: alpha kept exactly when there was one"
        if alpha is not None:
            assert np.array_equal(np.asarray(written.getchannel("A")), np.asarray(alpha)), f"{name}: same alpha"
        mse = (lightness(written) - lightness(original)).pow(2).mean().item()
        psnr = 10 * np.log10(1 / max(mse, 1e-12))
        assert psnr > 45, f"{name}: L changed, PSNR {psnr:.1f} dB"
    assert Image.open(output / "rotated.jpg").size == (40, 60), "EXIF orientation is applied"
    for bad in ("truncated.jpg", "text.png", "bomb.png"):
        assert f"FAILED  {folder / bad}" in result.stdout
        assert not (output / bad).exists()
    assert "decompression bomb" in result.stdout
    assert "8 written, 0 skipped, 3 failed" in result.stdout
    assert Image.open(output / "compare" / "big.jpg").size == (3 * 768, 512), "gray | colorized | truth"
    assert Image.open(output / "compare" / "gray16.png").size == (2 * 80, 60), "no truth panel for a gray input"
    assert not list(output.rglob("*.tmp")), "no temporary files are left behind"

    before = {p: p.stat().st_mtime_ns for p in output.rglob("*") if p.is_file()}
    again = predict_cli(trained_checkpoints["unet"], *args)
    assert "0 written, 8 skipped, 3 failed" in again.stdout
    assert {p: p.stat().st_mtime_ns for p in output.rglob("*") if p.is_file()} == before

    forced = predict_cli(trained_checkpoints["unet"], *args[:-1], "overwrite=true", f"input={folder / 'tiny.png'}")
    assert forced.returncode == 0 and "1 written" in forced.stdout


@pytest.mark.slow
def test_predict_never_writes_over_an_input(trained_checkpoints, messy_folder, tmp_path) -> None:
    folder = messy_folder["folder"]
    before = (folder / "big.jpg").read_bytes()
    result = predict_cli(
        trained_checkpoints["cae"], f"input={folder}", f"output={folder}", "overwrite=true", f"hydra.run.dir={tmp_path}"
    )
    assert result.returncode == 1 and "would overwrite an input" in result.stdout
    assert (folder / "big.jpg").read_bytes() == before


@pytest.mark.slow
def test_predict_with_the_vae_and_a_missing_input(trained_checkpoints, tmp_path) -> None:
    photo(100, 70).save(tmp_path / "one.jpg")
    logs = f"hydra.run.dir={tmp_path / 'run'}"
    # paths.cache_dir moves the colour table too (built there on first use).
    table_dir = f"paths.cache_dir={tmp_path / 'tables'}"
    ok = predict_cli(
        trained_checkpoints["vae"], f"input={tmp_path / 'one.jpg'}", f"output={tmp_path / 'o'}", logs, table_dir
    )
    assert ok.returncode == 0 and Image.open(tmp_path / "o" / "one.jpg").size == (100, 70)
    assert (tmp_path / "tables" / TABLE_FILE).is_file()
    missing = predict_cli(trained_checkpoints["vae"], f"input={tmp_path / 'nope'}", f"output={tmp_path / 'o'}", logs)
    assert missing.returncode != 0 and "does not exist" in missing.stderr


def test_precision_option_is_checked_and_honoured() -> None:
    cpu = torch.device("cpu")
    assert use_bf16("32", cpu) is False and use_bf16("bf16", cpu) is True
    with pytest.raises(ValueError, match="precision=16 is not one of auto, 32, bf16"):
        use_bf16("16", cpu)


def test_outputs_get_the_permissions_of_a_plain_write(tmp_path) -> None:
    """Written whole through a temporary file, but readable as `open` would leave it (0o666 less
    the umask), not mkstemp's owner-only 0o600."""
    from colorizer.atomic import atomic_write_text
    from colorizer.inference.outputs import save_image

    umask = os.umask(0o027)
    try:
        save_image(photo(8, 8), tmp_path / "a.png", 95)
        atomic_write_text(tmp_path / "b.txt", "text")
    finally:
        os.umask(umask)
    assert {oct(p.stat().st_mode & 0o777) for p in (tmp_path / "a.png", tmp_path / "b.txt")} == {oct(0o640)}
