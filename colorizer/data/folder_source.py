"""Images from folders of files (`data=folder`, `data=landscape`): any folder, a list of them,
photos for training alone beside them, and layouts that keep the images in a subfolder."""

import hashlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

from colorizer.data.images import IMAGE_EXTENSIONS, ImageDecodeError, decode_square, has_colour, list_image_files
from colorizer.data.sources import DECODE_VERSION, DecodedFiles


class FolderSource:
    """Every image file under `root` (recursively by default), decoded once and fitted to a square.
    `root` may be a list of folders: one data set, each image named `<folder name>/<path in it>`.

    `train_only_root` (a folder or a list): more photos that only ever join the training split,
    for example landscapes beside general photos; validation and test are cut from `root`'s
    photos exactly as without them. `subfolder`: the images of each `root` are in
    `<root>/<subfolder>` (the Kaggle landscape layout keeps them in `color/`).

    Files that cannot be decoded are skipped and listed; images with no colour at all (a
    grayscale photo saved as RGB) are left out and counted, since they teach nothing.
    """

    def __init__(
        self,
        root: str | Path | Sequence[str | Path],
        train_only_root: str | Path | Sequence[str | Path] | None = None,
        subfolder: str | None = None,
        recursive: bool = True,
        extensions: tuple[str, ...] | list[str] = IMAGE_EXTENSIONS,
        colorless_threshold: float = 2.0,
    ) -> None:
        held_out = as_paths(root)
        if not held_out:
            raise FileNotFoundError("data.source.root is an empty list: give a folder, or a list of folders.")
        self.subfolder = subfolder
        held_out = [r / subfolder if subfolder else r for r in held_out]
        train_only = as_paths(train_only_root)
        both = {r.resolve() for r in held_out} & {r.resolve() for r in train_only}
        if both:
            raise ValueError(
                f"{', '.join(map(str, sorted(both)))} is in data.source.root and data.source.train_only_root: "
                "a photo either trains only or may be held out, not both."
            )
        self.held_out_count = len(held_out)
        self.roots = held_out + train_only
        self.recursive = recursive
        self.extensions = tuple(e.lower() for e in extensions)
        self.colorless_threshold = colorless_threshold
        # With several folders a name says which one it came from (the folder's name, numbered if repeated).
        labels = [r.name or str(r) for r in self.roots]
        self.labels = (
            [
                f"{label}#{labels[:i].count(label) + 1}" if labels.count(label) > 1 else label
                for i, label in enumerate(labels)
            ]
            if len(self.roots) > 1
            else [""]
        )

    def describe(self) -> str:
        return "images under " + ", ".join(str(r) for r in self.roots)

    def files(self) -> list[Path]:
        """The image files, sorted within each folder, folder after folder. Raises FileNotFoundError
        when a folder is missing or has none."""
        searched = ", ".join(self.extensions)
        files = []
        for index, root in enumerate(self.roots):
            if self.subfolder and index < self.held_out_count and not root.is_dir():
                raise FileNotFoundError(
                    f"{root} does not exist: data.source.subfolder={self.subfolder} looks for the images in "
                    f"<root>/{self.subfolder}/ (data=landscape: the Kaggle 'Landscape color and grayscale images' "
                    f"layout). Point data.source.root at the folder that holds {self.subfolder}/, or use data=folder "
                    "for any folder."
                )
            if not root.is_dir():
                raise FileNotFoundError(
                    f"Image folder {root} does not exist or is not a folder "
                    f"(set data.source.root to a folder with {searched} files, or a list of such folders)."
                )
            files.extend(list_image_files(root, self.recursive, self.extensions))
        return files

    def items(self) -> list[Path]:
        """What `decode` takes: the image files."""
        return self.files()

    def name(self, path: Path) -> str:
        """The image's name: its path in its folder, after the folder's label when there are several."""
        holding = [i for i, root in enumerate(self.roots) if path.is_relative_to(root)]
        index = max(holding, key=lambda i: len(self.roots[i].parts))  # the innermost, if folders nest
        relative = str(path.relative_to(self.roots[index]))
        return f"{self.labels[index]}/{relative}" if self.labels[index] else relative

    def cache_key(self, size: int) -> str:
        """Changes when any file is added, removed or modified (size and mtime of every file)."""
        roots = "|".join(str(r.resolve()) for r in self.roots)
        digest = hashlib.sha256(f"{roots}|{size}|{DECODE_VERSION}|{self.colorless_threshold}".encode())
        for path in self.files():
            try:
                stat = path.stat()
                digest.update(f"{path}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
            except OSError:
                digest.update(f"{path}|missing\n".encode())
        return f"folder-{digest.hexdigest()[:24]}-s{size}"

    @staticmethod
    def decode_file(path: Path, size: int) -> np.ndarray | str:
        """uint8 [size,size,3], or why the file cannot be used."""
        try:
            return decode_square(path, size)
        except ImageDecodeError as error:
            return str(error)

    def decode(self, files: list[Path], size: int, pool: ThreadPoolExecutor) -> DecodedFiles:
        """Decode `files` on `pool` and sort them into usable, unreadable and colourless."""
        decoded = DecodedFiles()
        # Pillow releases the GIL while decoding, so threads decode in parallel.
        for path, result in zip(files, pool.map(lambda p: self.decode_file(p, size), files), strict=True):
            name = self.name(path)
            if isinstance(result, str):
                decoded.skipped.append((name, result))
            elif not has_colour(result, self.colorless_threshold):
                decoded.colorless.append(name)
            else:
                decoded.images.append(result)
                decoded.names.append(name)
        return decoded

    def nothing_usable(self, files: int, unreadable: int, colorless: int) -> FileNotFoundError:
        return FileNotFoundError(
            f"None of the {files} files under {', '.join(str(r) for r in self.roots)} is a usable colour image "
            f"({unreadable} unreadable, {colorless} without colour)."
        )

    def train_only_rows(self, names: list[str]) -> torch.Tensor:
        """bool [N]: which of these images (by name) are from `train_only_root`."""
        prefixes = tuple(f"{label}/" for label in self.labels[self.held_out_count :]) if len(self.roots) > 1 else ()
        return torch.tensor([name.startswith(prefixes) for name in names], dtype=torch.bool)


def as_paths(folders: str | Path | Sequence[str | Path] | None) -> list[Path]:
    """One folder, a list of them (a Hydra ListConfig too) or None, as a list of paths."""
    if folders is None:
        return []
    return [Path(f).expanduser() for f in ([folders] if isinstance(folders, str | Path) else folders)]
