"""The pack's own ComfyUI link types, and its node category."""

from __future__ import annotations

from comfy_api.latest import io

BiRefNetModel = io.Custom("BIREFNET_MODEL")
"""A loaded BiRefNet (``nodes.model_handle.BiRefNetHandle``) travelling between nodes."""

CATEGORY = "BiRefNet"

BiRefNetBoxes = io.Custom("BIREFNET_BOXES")
"""Crop boxes ``list[(x0, y0, x1, y1)]`` (pixels of the original images, x1/y1 exclusive), one per image, from
Crop to subject to Paste back."""
