"""ComfyUI nodes of the pack. The node modules import ComfyUI (comfy_api, comfy, folder_paths); `options` does not.

They import the library relatively (`from ..birefnet.x import ...`), so they only work as a sub-package of the
pack: ComfyUI loads the pack through the top-level __init__.py, which imports `.nodes.extension`. Tests import
the pack under a fixed name (tests/conftest.py: `PACK`).
"""
