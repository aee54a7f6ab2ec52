"""A generated set of any size for scale tests and the bench: synthetic landscapes tiled from 512
renders, so that building a cache of 300,000 costs the cache's own work, not the renderer's."""

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from colorizer.data.datamodule import CachedDataModule
from colorizer.data.sources import DecodedFiles, SyntheticSource

TILE = 512


class TiledSyntheticSource(SyntheticSource):
    """`num_images` landscapes repeating 512 distinct renders."""

    def __init__(self, num_images: int) -> None:
        super().__init__(num_images, seed=11)
        self.tile: list | None = None

    def cache_key(self, size: int) -> str:
        return "tiled-" + super().cache_key(size)

    def decode(self, indices: list[int], size: int, pool: ThreadPoolExecutor) -> DecodedFiles:
        if self.tile is None:
            self.tile = super().decode(list(range(TILE)), size, pool).images
        return DecodedFiles(images=[self.tile[i % TILE] for i in indices], names=[f"synthetic_{i}" for i in indices])


def tiled_datamodule(count: int, workdir: str | Path, image_size: int, batch_size: int = 256) -> CachedDataModule:
    return CachedDataModule(
        TiledSyntheticSource(count),
        image_size=image_size,
        batch_size=batch_size,
        cache_dir=str(Path(workdir) / "cache"),
    )
