"""ComfyUI entry point of the BiRefNet node pack (ComfyUI loads custom_nodes/<pack>/__init__.py).

The pack's library lives in the sub-package `birefnet/`, whose modules import each other relatively. Inside
ComfyUI it is therefore `<pack>.birefnet`: the pack never occupies the top-level name `birefnet` (another
BiRefNet pack may own that one) and never touches sys.path. From the command line or Python, with this folder
on the path, the same code is the top-level package `birefnet` (`python -m birefnet`, `import birefnet`).
"""

from __future__ import annotations

import importlib.util

__all__: list[str] = []

WEB_DIRECTORY = "./web"
"""The front-end extension (plain ES modules), served by ComfyUI under /extensions/<pack folder>/."""

if importlib.util.find_spec("comfy_api") is not None:  # inside ComfyUI
    from .nodes.extension import comfy_entrypoint

    __all__ = ["comfy_entrypoint", "WEB_DIRECTORY"]
