"""Colour: CIELAB normalisation (`lab`), ab as classes (`bins`) and the 8-bit Lab -> sRGB table
that colours full-resolution photos (`srgb_table`)."""

from colorizer.color.lab import AB_SCALE, L_SCALE, gamut_map, gray_rgb, rebuild_rgb, rgb_to_normalized_lab

__all__ = ["AB_SCALE", "L_SCALE", "gamut_map", "gray_rgb", "rebuild_rgb", "rgb_to_normalized_lab"]
