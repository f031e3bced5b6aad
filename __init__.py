"""ComfyUI entry point of the BiRefNet node pack (ComfyUI loads custom_nodes/<pack>/__init__.py).

The pack's own library is the top-level package `birefnet` in this folder (its modules import each other
as `birefnet.x`). ComfyUI does not put a pack's folder on sys.path, so it is added just long enough to
import `birefnet`; later `birefnet.x` imports resolve through the package itself. The folder is removed
again so that its other top-level names (`nodes`, `tests`...) never shadow ComfyUI's own `nodes` module or
another pack's. The node modules are imported relatively (`.nodes`), under the name ComfyUI gave this pack.
"""

from __future__ import annotations

import importlib.util
import os
import sys

PACK_DIR = os.path.dirname(os.path.abspath(__file__))


def _import_own_birefnet() -> None:
    """Import this folder's `birefnet` package; fail clearly if another package of that name is loaded."""
    loaded = sys.modules.get("birefnet")
    if loaded is None:
        sys.path.insert(0, PACK_DIR)
        try:
            import birefnet  # noqa: F401
        finally:
            sys.path.remove(PACK_DIR)
        loaded = sys.modules["birefnet"]
    origin = os.path.dirname(os.path.dirname(os.path.abspath(getattr(loaded, "__file__", "") or "")))
    if os.path.normcase(origin) != os.path.normcase(PACK_DIR):
        raise ImportError(
            f"Another Python package named 'birefnet' is already loaded (from {origin}); this node pack "
            f"needs its own from {PACK_DIR}. Remove or rename the other one (pip uninstall birefnet, or the "
            "custom node pack that provides it)."
        )


_import_own_birefnet()

__all__: list[str] = []

WEB_DIRECTORY = "./web"
"""The front-end extension (plain ES modules), served by ComfyUI under /extensions/<pack folder>/."""

if importlib.util.find_spec("comfy_api") is not None:  # inside ComfyUI
    from .nodes.extension import comfy_entrypoint

    __all__ = ["comfy_entrypoint", "WEB_DIRECTORY"]
