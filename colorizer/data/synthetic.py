"""Procedural landscapes: a deterministic default data set that needs no files.

Each picture is sky (one of several times of day, with sun and clouds), up to three layers of
mountain ridges fading into haze (some snow-capped), and a foreground of water that mirrors
the sky or of textured vegetation. Colour follows from luminance, texture and position (bright
smooth top = sky, bright peaks = snow, textured dark bottom = vegetation), so it can be learned.
"""

import numpy as np
import torch
import torch.nn.functional as F

# (zenith, horizon, sun, cloud) colours in [0, 1] for each time of day
SKY_PALETTES = {
    "day": ((0.16, 0.36, 0.78), (0.68, 0.80, 0.94), (1.00, 0.98, 0.88), (0.97, 0.97, 0.98)),
    "sunset": ((0.24, 0.22, 0.52), (0.98, 0.58, 0.30), (1.00, 0.82, 0.50), (0.95, 0.62, 0.55)),
    "dusk": ((0.06, 0.08, 0.22), (0.40, 0.30, 0.50), (0.95, 0.85, 0.70), (0.35, 0.30, 0.42)),
    "overcast": ((0.55, 0.58, 0.63), (0.78, 0.79, 0.81), (0.95, 0.95, 0.93), (0.88, 0.88, 0.90)),
}
ROCK_COLOURS = ((0.42, 0.38, 0.36), (0.36, 0.38, 0.46), (0.48, 0.42, 0.34))
SNOW_COLOUR = (0.93, 0.95, 0.99)
VEGETATION_COLOURS = ((0.16, 0.36, 0.12), (0.34, 0.54, 0.18), (0.48, 0.50, 0.20))
WATER_TINT = (0.10, 0.30, 0.38)


def smooth_noise(rng: np.random.Generator, height: int, width: int, cells: int) -> np.ndarray:
    """Value noise in [0, 1]: a random `cells`x`cells` grid upsampled bicubically to [H,W]."""
    grid = torch.from_numpy(rng.random((1, 1, cells + 1, cells + 1), dtype=np.float32))
    field = F.interpolate(grid, size=(height, width), mode="bicubic", align_corners=True)
    return field[0, 0].clamp(0, 1).numpy()


def fractal_noise(rng: np.random.Generator, height: int, width: int, octaves: int = 3) -> np.ndarray:
    """Sum of value noise at doubling frequencies, normalised to [0, 1]: [H,W]."""
    total = sum(0.5**o * smooth_noise(rng, height, width, 2 ** (o + 2)) for o in range(octaves))
    return (total - total.min()) / (np.ptp(total) + 1e-6)


def ridge_profile(rng: np.random.Generator, width: int, roughness: float) -> np.ndarray:
    """A mountain skyline in [0, 1] (1 = peak height): [W]."""
    x = np.linspace(0, 1, width)
    profile = np.zeros(width)
    for octave in range(4):
        points = 3 * 2**octave + 1
        profile += roughness**octave * np.interp(x, np.linspace(0, 1, points), rng.random(points))
    return (profile - profile.min()) / (np.ptp(profile) + 1e-6)


def _mix(a: np.ndarray, b, t: np.ndarray) -> np.ndarray:
    return a * (1 - t[..., None]) + np.asarray(b) * t[..., None]


def render_landscape(rng: np.random.Generator, size: int) -> np.ndarray:
    """One landscape as uint8 RGB [size,size,3]."""
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32) / max(size - 1, 1)
    time_of_day = rng.choice(list(SKY_PALETTES), p=[0.5, 0.2, 0.1, 0.2])
    zenith, horizon_colour, sun_colour, cloud_colour = (np.asarray(c) for c in SKY_PALETTES[time_of_day])
    horizon = rng.uniform(0.45, 0.68)

    # Sky: gradient from zenith to horizon, a sun with a glow, clouds.
    image = _mix(np.broadcast_to(zenith, (size, size, 3)), horizon_colour, np.clip(ys / horizon, 0, 1) ** 1.4)
    sun_x, sun_y = rng.uniform(0.1, 0.9), rng.uniform(0.08, horizon - 0.1)
    distance = np.hypot(xs - sun_x, ys - sun_y)
    if time_of_day != "overcast":
        glow = np.exp(-distance / rng.uniform(0.06, 0.15)) * 0.6
        image = _mix(image, sun_colour, np.maximum(glow, distance < rng.uniform(0.025, 0.05)))
    cloudiness = {"overcast": 0.25, "day": 0.55}.get(time_of_day, 0.6) + rng.uniform(-0.1, 0.15)
    clouds = np.clip((fractal_noise(rng, size, size) - cloudiness) * 4, 0, 1) * (ys < horizon)
    image = _mix(image, cloud_colour * (0.8 + 0.2 * (1 - ys[..., None])), clouds * 0.9)

    # Mountains: far ridges are higher on the screen, smaller and lost in haze.
    layers = rng.integers(1, 4)
    rock = np.asarray(ROCK_COLOURS[rng.integers(len(ROCK_COLOURS))])
    snowy = rng.random() < 0.5
    for layer in range(layers):
        depth = (layers - layer) / layers
        top = horizon - rng.uniform(0.12, 0.35) * (0.6 + 0.4 * depth)
        skyline = top + (horizon - top) * (1 - ridge_profile(rng, size, rng.uniform(0.35, 0.6)))
        mask = ys >= skyline[None, :]
        height_above = np.clip((horizon - ys) / (horizon - top + 1e-6), 0, 1)
        shade = 0.75 + 0.35 * fractal_noise(rng, size, size)
        colour = rock * shade[..., None]
        if snowy:
            snow = np.clip((height_above - 0.55 - 0.2 * smooth_noise(rng, size, size, 6)) * 6, 0, 1)
            colour = _mix(colour, SNOW_COLOUR, snow)
        colour = _mix(colour, horizon_colour, np.full((size, size), 0.65 * depth**1.5))
        image = np.where(mask[..., None], colour, image)

    # Foreground: water that mirrors the sky, or vegetation, or water with a green shore.
    below = ys >= horizon
    kind = rng.choice(["water", "vegetation", "shore"])
    if kind in ("water", "shore"):
        mirror_rows = np.clip(2 * horizon - ys, 0, 1) * (size - 1)
        ripple = (smooth_noise(rng, size, size, size // 4 or 1) - 0.5) * 0.04 * size
        rows = np.clip(np.round(mirror_rows + ripple), 0, size - 1).astype(int)
        reflection = image[rows, np.arange(size)[None, :]]
        water = _mix(reflection * 0.8, WATER_TINT, np.full((size, size), 0.35))
        image = np.where(below[..., None], water, image)
    if kind in ("vegetation", "shore"):
        start = horizon if kind == "vegetation" else rng.uniform(horizon + 0.1, 0.9)
        edge = start + 0.05 * (ridge_profile(rng, size, 0.5) - 0.5)
        green = np.asarray(VEGETATION_COLOURS[rng.integers(len(VEGETATION_COLOURS))])
        texture = 0.55 + 0.6 * fractal_noise(rng, size, size, octaves=4)
        depth_light = 0.7 + 0.4 * np.clip((ys - start) / (1 - start + 1e-6), 0, 1)
        ground = green * (texture * depth_light)[..., None]
        image = np.where((ys >= edge[None, :])[..., None], ground, image)

    return (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)


def synthetic_landscapes(num_images: int, size: int, seed: int = 0) -> torch.Tensor:
    """`num_images` landscapes as uint8 [N,3,size,size]; image i depends only on (seed, i)."""
    images = np.stack([render_landscape(np.random.default_rng([seed, i]), size) for i in range(num_images)])
    return torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()
