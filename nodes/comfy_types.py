"""The pack's own ComfyUI link type."""

from __future__ import annotations

from comfy_api.latest import io

BiRefNetModel = io.Custom("BIREFNET_MODEL")
"""A loaded BiRefNet (``nodes.model_handle.BiRefNetHandle``) travelling between nodes."""

CATEGORY = "BiRefNet"
