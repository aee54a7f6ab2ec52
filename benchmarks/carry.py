"""`python -m benchmarks.carry`: what the GPU check needs on a bare GPU machine that reaches no
registry, in one folder to carry there (`.gpu/`, ignored by git): the wheels of the packages
its image lacks, and the landscapes re-encoded at the check's 64 px so they fit the 64 MiB a
carry allows (126 MB as they are; 64 px JPEGs at quality 95 are about 22 MB).

Then, on the GPU machine, from the repository root:
    python3 -m pip install -q --no-index --no-deps --target /tmp/site .gpu/wheels/*.whl
    PYTHONPATH=/tmp/site python3 -m benchmarks --sections gpu --landscapes .gpu/landscapes/color
    PYTHONPATH=/tmp/site python3 -m benchmarks --quick --sections serve
"""

import argparse
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import version
from pathlib import Path

from PIL import Image

from benchmarks.common import DEFAULT_LANDSCAPES, REPO

# What the GPU image lacks (its package list: the device docs' KINDS.md), with what the serve
# section needs beyond it; each at the version installed here, the one the tests ran with.
MISSING = ["hydra-core", "omegaconf", "kornia", "kornia_rs", "litserve", "fastapi", "starlette", "uvicorn"]
MISSING += ["httptools", "pyzmq", "pydantic", "pydantic_core", "annotated-types", "annotated-doc"]
MISSING += ["typing-inspection", "typing_extensions", "anyio", "opentelemetry-api", "python-multipart"]
# Hydra's parser runtime exists only as a source archive: built here into a pure-Python wheel.
SOURCE_ONLY = ["antlr4-python3-runtime"]
# The GPU image's Python and platforms, as the device docs give them.
PLATFORM = "--python-version 3.12 --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64"


def pinned(names: list[str]) -> list[str]:
    """`name==version` at the version installed here."""
    return [f"{name}=={version(name)}" for name in names]


def download_wheels(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    pip = [sys.executable, "-m", "pip"]
    download = ["download", "--no-deps", "--only-binary=:all:", *PLATFORM.split(), "-d", str(folder)]
    subprocess.run([*pip, *download, *pinned(MISSING)], check=True)
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(folder), *pinned(SOURCE_ONLY)], check=True)
    return sorted(folder.glob("*.whl"))


def shrink(source: Path, target: Path, size: int = 64) -> int:
    """Every JPEG of `source` as a `size`-px square JPEG (quality 95) in `target`: how many."""
    target.mkdir(parents=True, exist_ok=True)
    files = sorted(source.glob("*.jpg"))

    def one(path: Path) -> None:
        with Image.open(path) as image:
            image.convert("RGB").resize((size, size), Image.Resampling.LANCZOS).save(target / path.name, quality=95)

    with ThreadPoolExecutor() as pool:
        list(pool.map(one, files))
    return len(files)


def main() -> None:
    parser = argparse.ArgumentParser(description="Prepare .gpu/ (wheels, small landscapes) for the GPU check.")
    parser.add_argument("--out", type=Path, default=REPO / ".gpu")
    parser.add_argument("--landscapes", type=Path, default=DEFAULT_LANDSCAPES, help="the folder of landscape JPEGs")
    args = parser.parse_args()
    wheels = download_wheels(args.out / "wheels")
    count = shrink(args.landscapes, args.out / "landscapes" / "color")
    size = sum(f.stat().st_size for f in args.out.rglob("*") if f.is_file()) / 2**20
    print(f"{len(wheels)} wheels and {count} landscapes in {args.out} ({size:.1f} MiB): carry it as .gpu")


if __name__ == "__main__":
    main()
