import json
import logging

import numpy as np
import pytest
import torch
from hydra.utils import instantiate
from PIL import Image

from colorizer.config import compose_command_config
from colorizer.data.cache import load_cached
from colorizer.data.datamodule import CachedDataModule
from colorizer.data.folder_source import FolderSource
from colorizer.data.images import open_rgb
from colorizer.data.sources import SyntheticSource
from colorizer.data.splits import split_indices
from colorizer.data.synthetic import synthetic_landscapes
from colorizer.data.transforms import lab_batch, resize_to
from tests.helpers.images import write_images

SPLITS = {"train": 0.64, "val": 0.16, "test": 0.20}


def test_synthetic_landscapes_are_deterministic_and_varied() -> None:
    first = synthetic_landscapes(6, 32, seed=3)
    assert first.shape == (6, 3, 32, 32) and first.dtype == torch.uint8
    assert torch.equal(first, synthetic_landscapes(6, 32, seed=3))
    assert not torch.equal(first, synthetic_landscapes(6, 32, seed=4))
    assert torch.equal(first[:3], synthetic_landscapes(3, 32, seed=3)), "image i depends only on (seed, i)"
    assert not torch.equal(first[0], first[1])


def test_synthetic_colour_is_learnable_from_position() -> None:
    """Sky on top is bluer than the bottom on average; there is real colour to predict."""
    ab = lab_batch(synthetic_landscapes(64, 32, seed=0))["ab"]
    b = ab[:, 1]
    assert b[:, :8].mean() < b[:, -8:].mean() - 0.05, "b should be lower (bluer) in the sky than in the foreground"
    assert ab.abs().mean() > 0.05


def test_splits_are_disjoint_complete_and_seeded() -> None:
    parts = split_indices(100, SPLITS, seed=42)
    assert [len(parts[s]) for s in ("train", "val", "test")] == [64, 16, 20]
    assert torch.equal(torch.cat(list(parts.values())).sort().values, torch.arange(100))
    assert torch.equal(parts["test"], split_indices(100, SPLITS, seed=42)["test"])
    assert not torch.equal(parts["test"], split_indices(100, SPLITS, seed=1)["test"])


def test_kfold_rotates_validation_and_keeps_test_fixed() -> None:
    folds = [split_indices(100, SPLITS, seed=0, num_folds=5, fold=k) for k in range(5)]
    test = folds[0]["test"]
    assert all(torch.equal(f["test"], test) for f in folds)
    validation = torch.cat([f["val"] for f in folds]).sort().values
    rest = torch.tensor(sorted(set(range(100)) - set(test.tolist())))
    assert torch.equal(validation, rest), "each non-test image is validated exactly once"
    for f in folds:
        assert not set(f["train"].tolist()) & set(f["val"].tolist())
        assert len(f["train"]) + len(f["val"]) == 80


@pytest.mark.parametrize(
    ("splits", "folds", "fold", "message"),
    [
        ({"train": 0.5, "val": 0.3, "test": 0.3}, 1, 0, "add up to 1.1"),
        ({"train": 0.8, "test": 0.2}, 1, 0, "exactly the keys"),
        (SPLITS, 5, 5, "data.fold=5"),
        (SPLITS, 0, 0, "num_folds"),
    ],
)
def test_bad_split_settings_are_refused_early(splits, folds, fold, message) -> None:
    with pytest.raises(ValueError, match=message):
        CachedDataModule(SyntheticSource(10), splits=splits, num_folds=folds, fold=fold)


def test_any_image_mode_opens_as_rgb(tmp_path) -> None:
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (12, 10, 3), dtype=np.uint8)
    files = {
        "l.png": Image.fromarray(rgb[..., 0]),
        "la.png": Image.merge("LA", [Image.fromarray(rgb[..., 0]), Image.fromarray(rgb[..., 1])]),
        "p.png": Image.fromarray(rgb).convert("P"),
        "rgba.png": Image.fromarray(np.dstack([rgb, np.full((12, 10), 128, np.uint8)])),
        "cmyk.jpg": Image.fromarray(rgb).convert("CMYK"),
        "gray16.png": Image.fromarray(rgb[..., 0].astype(np.uint16) * 257),
        "image.bmp": Image.fromarray(rgb),
        "image.tif": Image.fromarray(rgb),
        "image.webp": Image.fromarray(rgb),
    }
    for name, image in files.items():
        image.save(tmp_path / name)
    for name in files:
        opened = open_rgb(tmp_path / name)
        assert opened.mode == "RGB" and opened.size == (10, 12), name
    gray16 = np.asarray(open_rgb(tmp_path / "gray16.png"))[..., 0]
    assert np.abs(gray16.astype(int) - rgb[..., 0]).max() <= 1, "16-bit values are scaled, not clipped"
    half_transparent = np.asarray(open_rgb(tmp_path / "rgba.png")).astype(int)
    over_white = rgb.astype(float) * 128 / 255 + 255 * 127 / 255
    assert np.abs(half_transparent - over_white).max() <= 2, "alpha composited on white"


def test_folder_skips_corrupt_files_and_leaves_out_colourless_ones(tmp_path, caplog) -> None:
    root = tmp_path / "photos"
    good = write_images(root / "nested", 5)
    (root / "broken.jpg").write_bytes(good[1].read_bytes()[:200])
    (root / "text.png").write_text("not an image")
    Image.fromarray(np.full((20, 20, 3), 90, np.uint8)).save(root / "gray.png")
    (root / "notes.txt").write_text("ignored: not an image extension")

    datamodule = CachedDataModule(FolderSource(str(root)), image_size=16, batch_size=2)
    with caplog.at_level(logging.WARNING):
        datamodule.setup()
    assert len(datamodule.loaded.names) == 5
    assert {name for name, _ in datamodule.loaded.skipped} == {"broken.jpg", "text.png"}
    assert datamodule.loaded.colorless == ["gray.png"]
    assert "Skipped 2 unreadable file(s)" in caplog.text and "broken.jpg" in caplog.text
    report = datamodule.write_skipped_files(tmp_path / "run").read_text().splitlines()
    assert report[0] == "file\treason" and len(report) == 4
    assert any(line.startswith("gray.png\tno colour") for line in report)


def test_missing_or_empty_root_names_the_path_and_extensions(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match=r"does not exist.*\.jpg"):
        CachedDataModule(FolderSource(str(tmp_path / "nowhere"))).setup()
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match=r"No images in .*empty.*\.png"):
        CachedDataModule(FolderSource(str(tmp_path / "empty"))).setup()
    with pytest.raises(FileNotFoundError, match="color/"):
        CachedDataModule(FolderSource(str(tmp_path / "empty"), subfolder="color")).setup()


def test_several_folders_are_one_data_set_split_as_one(tmp_path) -> None:
    write_images(tmp_path / "a" / "photos", 6)
    write_images(tmp_path / "b" / "photos", 4, seed=3)
    (tmp_path / "b" / "photos" / "broken.jpg").write_text("not a JPEG")
    roots = [str(tmp_path / "a" / "photos"), str(tmp_path / "b" / "photos")]
    datamodule = CachedDataModule(FolderSource(roots), image_size=16, cache_dir=str(tmp_path / "cache"))
    datamodule.setup()
    names = datamodule.loaded.names
    assert len(names) == 10 and len(set(names)) == 10, "the same file name in two folders stays two images"
    assert sum(n.startswith("photos#1/") for n in names) == 6 and sum(n.startswith("photos#2/") for n in names) == 4
    assert [name for name, _ in datamodule.loaded.skipped] == ["photos#2/broken.jpg"], "skipped files name their folder"
    split = {s: set(datamodule.split_names(s)) for s in ("train", "val", "test")}
    assert sum(map(len, split.values())) == 10 and not split["train"] & split["test"]
    again = CachedDataModule(FolderSource(roots), image_size=16, cache_dir=str(tmp_path / "cache"))
    again.setup()
    assert again.split_names("test") == datamodule.split_names("test"), "deterministic"
    assert FolderSource(roots).cache_key(16) != FolderSource(roots[:1]).cache_key(16)
    with pytest.raises(FileNotFoundError, match="nowhere"):
        FolderSource([roots[0], str(tmp_path / "nowhere")]).files()
    with pytest.raises(FileNotFoundError, match="empty list"):
        FolderSource([])


def test_train_only_folders_join_training_and_leave_the_held_out_split_as_it_was(tmp_path) -> None:
    write_images(tmp_path / "general", 10)
    write_images(tmp_path / "landscape" / "color", 6, seed=5)
    write_images(tmp_path / "extra", 4, seed=7)
    kwargs = {"image_size": 16, "cache_dir": str(tmp_path / "cache")}
    plain = CachedDataModule(FolderSource(str(tmp_path / "general")), **kwargs)
    plain.setup()
    extra = [str(tmp_path / "landscape" / "color"), str(tmp_path / "extra")]
    mixed = CachedDataModule(FolderSource(str(tmp_path / "general"), train_only_root=extra), **kwargs)
    mixed.setup()
    for split in ("val", "test"):
        assert mixed.split_names(split) == [f"general/{n}" for n in plain.split_names(split)]
    train = mixed.split_names("train")
    assert len(train) == len(plain.split_names("train")) + 10
    assert sum(n.startswith(("color/", "extra/")) for n in train) == 10, "every extra photo trains"
    kaggle = CachedDataModule(
        FolderSource(str(tmp_path / "landscape"), train_only_root=str(tmp_path / "extra"), subfolder="color"), **kwargs
    )
    kaggle.setup()
    assert sum(n.startswith("extra/") for n in kaggle.split_names("train")) == 4
    assert not any(n.startswith("extra/") for s in ("val", "test") for n in kaggle.split_names(s))
    with pytest.raises(ValueError, match="in data.source.root and data.source.train_only_root"):
        FolderSource(str(tmp_path / "extra"), train_only_root=[str(tmp_path / "extra")])


def test_a_train_fraction_keeps_a_fixed_nested_share_and_the_held_out_splits(tmp_path) -> None:
    write_images(tmp_path / "photos", 40)
    kwargs = {"source": FolderSource(tmp_path / "photos"), "image_size": 16, "cache_dir": str(tmp_path / "cache")}
    shares = {}
    for fraction in (1.0, 0.5, 0.25):
        data = CachedDataModule(train_fraction=fraction, **kwargs)
        data.setup()
        shares[fraction] = data.split_names("train")
        assert data.split_size("train") == len(shares[fraction])
        if fraction == 1.0:
            held_out = {split: data.split_names(split) for split in ("val", "test")}
        assert {split: data.split_names(split) for split in ("val", "test")} == held_out
        assert sum(len(batch) for batch in data.train_dataloader()) == len(shares[fraction]), "only the share trains"
    assert (len(shares[1.0]), len(shares[0.5]), len(shares[0.25])) == (26, 13, 6)
    assert set(shares[0.25]) < set(shares[0.5]) < set(shares[1.0]), "a smaller share is within a larger one"
    again = CachedDataModule(train_fraction=0.5, **kwargs)
    again.setup()
    assert again.split_names("train") == shares[0.5], "the share is fixed by split_seed"
    with pytest.raises(ValueError, match="train_fraction"):
        CachedDataModule(train_fraction=0.0, **kwargs)


def test_kaggle_layout_reads_color_and_ignores_gray(tmp_path) -> None:
    write_images(tmp_path / "landscape" / "color", 6)
    write_images(tmp_path / "landscape" / "gray", 3, seed=9)
    cfg = compose_command_config("train", ["data=landscape", f"data.source.root={tmp_path / 'landscape'}"])
    cfg.data.image_size, cfg.data.cache_dir = 16, None
    datamodule = instantiate(cfg.data)
    assert type(datamodule) is CachedDataModule, "the layout is configuration of the one data module"
    datamodule.setup()
    assert len(datamodule.loaded.names) == 6 and all(not n.startswith("gray") for n in datamodule.loaded.names)


def test_disk_cache_is_reused_and_a_damaged_one_is_rebuilt(tmp_path, monkeypatch) -> None:
    root = tmp_path / "photos"
    write_images(root, 4)
    source = FolderSource(root)
    first = load_cached(source, 16, tmp_path / "cache")
    entries = sorted((tmp_path / "cache").glob("*.npy"))
    assert len(entries) == 1

    def no_decoding(*args, **kwargs):
        raise AssertionError("should have come from the cache")

    monkeypatch.setattr(FolderSource, "decode", no_decoding)
    assert torch.equal(load_cached(source, 16, tmp_path / "cache").images, first.images)
    monkeypatch.undo()

    array = np.load(entries[0])
    array[0, 0, 0, 0] ^= 0xFF
    np.save(entries[0], array)
    rebuilt = load_cached(source, 16, tmp_path / "cache")
    assert torch.equal(rebuilt.images, first.images)
    assert json.loads(entries[0].with_suffix(".json").read_text())["shape"] == [4, 3, 16, 16]


def test_cache_key_changes_with_the_files(tmp_path) -> None:
    write_images(tmp_path, 2)
    source = FolderSource(tmp_path)
    before = source.cache_key(16)
    write_images(tmp_path / "more", 1)
    assert source.cache_key(16) != before
    assert SyntheticSource(10, 0).cache_key(16) != SyntheticSource(10, 1).cache_key(16)


def test_loader_yields_uint8_batches_and_the_hook_makes_lab(tmp_path) -> None:
    datamodule = CachedDataModule(SyntheticSource(20), image_size=16, batch_size=4, cache_dir=None)
    datamodule.setup()
    batch = next(iter(datamodule.train_dataloader()))
    assert batch.dtype == torch.uint8 and batch.shape == (4, 3, 16, 16)
    model_batch = datamodule.on_after_batch_transfer(batch, 0)
    assert model_batch["L"].shape == (4, 1, 16, 16) and model_batch["ab"].shape == (4, 2, 16, 16)
    assert model_batch["L"].dtype == torch.float32
    assert 0 <= model_batch["L"].min() and model_batch["L"].max() <= 1 and model_batch["ab"].abs().max() <= 1


def test_flip_is_random_per_image_and_only_flips() -> None:
    torch.manual_seed(0)
    images = synthetic_landscapes(32, 16, seed=1)
    plain, flipped = lab_batch(images), lab_batch(images, flip=True)
    same = [torch.equal(plain["L"][i], flipped["L"][i]) for i in range(32)]
    mirrored = [torch.equal(plain["L"][i].flip(-1), flipped["L"][i]) for i in range(32)]
    assert all(s or m for s, m in zip(same, mirrored, strict=True))
    assert 4 < sum(mirrored) < 28


def test_random_crops_only_in_training_each_image_its_own_and_seeded() -> None:
    images = synthetic_landscapes(8, 32, seed=2)
    whole = lab_batch(images)
    torch.manual_seed(0)
    cropped = lab_batch(images, crop_scale=0.3)
    torch.manual_seed(0)
    again = lab_batch(images, crop_scale=0.3)
    assert cropped["L"].shape == whole["L"].shape and torch.equal(cropped["ab"], again["ab"])
    assert all(not torch.allclose(cropped["L"][i], whole["L"][i], atol=1e-3) for i in range(8))
    zoom = [cropped["L"][i].std() / whole["L"][i].std() for i in range(8)]
    assert len({round(float(z), 3) for z in zoom}) == 8, "a crop of its own per image"
    datamodule = CachedDataModule(SyntheticSource(8), image_size=32, crop_scale=0.3)
    assert torch.equal(datamodule.on_after_batch_transfer(images, 0)["L"], whole["L"]), "no trainer: not training"
    with pytest.raises(ValueError, match="crop_scale"):
        CachedDataModule(SyntheticSource(), crop_scale=0)


def test_resize_to_a_divisor_is_the_mean_of_each_block() -> None:
    images = torch.randint(0, 256, (3, 3, 8, 8), dtype=torch.uint8)
    half = resize_to(images, 4)
    assert half.shape == (3, 3, 4, 4) and half.dtype == torch.float32
    block = images[1, 2, 2:4, 4:6].double().mean()
    assert half[1, 2, 1, 2].item() == pytest.approx(block.item())
    assert torch.equal(resize_to(images, 8), images.float())
    odd = resize_to(images, 6)
    assert odd.shape == (3, 3, 6, 6) and 0 <= odd.min() and odd.max() <= 255
    # lab_batch resizes to `size` as resize_to does, and takes float 0-255 as it takes uint8.
    assert torch.allclose(lab_batch(images, size=4)["L"], lab_batch(half)["L"])
    assert torch.allclose(lab_batch(half)["L"], lab_batch(images.float().reshape(3, 3, 4, 2, 4, 2).mean((3, 5)))["L"])


def test_a_larger_source_gives_crops_real_detail_and_every_split_at_image_size(tmp_path) -> None:
    photos, cache = tmp_path / "photos", str(tmp_path / "cache")
    write_images(photos, 10, size=(64, 48))
    larger = CachedDataModule(FolderSource(str(photos)), image_size=16, source_size=32, batch_size=4, cache_dir=cache)
    larger.setup()
    assert larger.loaded.images.shape[-2:] == (32, 32), "cached at the source size"
    batch = next(iter(larger.val_dataloader()))
    model_batch = larger.on_after_batch_transfer(batch, 0)
    assert model_batch["L"].shape == (len(batch), 1, 16, 16)
    assert torch.allclose(model_batch["L"], lab_batch(resize_to(batch, 16))["L"]), "whole images, shrunk exactly"
    shown = larger.split_images("val")
    assert shown.shape[-2:] == (16, 16) and shown.dtype == torch.uint8
    direct = CachedDataModule(FolderSource(str(photos)), image_size=16, cache_dir=cache)
    direct.setup()
    assert direct.split_names("test") == larger.split_names("test"), "the same split whatever the source size"
    difference = (direct.split_images("test").float() - larger.split_images("test").float()).abs().mean()
    assert difference < 6, "a source shrunk on the device is the image decoded at that size, up to resampling"
    with pytest.raises(ValueError, match="source_size"):
        CachedDataModule(FolderSource(str(photos)), image_size=16, source_size=8)


def test_crops_of_a_larger_source_keep_detail_that_a_whole_image_shrunk_loses() -> None:
    """A one-pixel checkerboard at 32 px: shrunk whole to 16 px it averages to flat gray, while
    crops of a quarter of its area, cut at 32 px, keep some of the pattern."""
    checker = ((torch.arange(32)[:, None] + torch.arange(32)[None, :]) % 2 * 255).to(torch.uint8)
    images = checker.expand(8, 3, 32, 32).contiguous()
    whole = lab_batch(images, size=16)["L"]
    torch.manual_seed(0)
    crops = lab_batch(images, crop_scale=0.25, size=16)["L"]
    assert crops.shape == whole.shape == (8, 1, 16, 16)
    assert whole.std() < 1e-4
    assert crops.std(dim=(1, 2, 3)).mean() > 0.02
