"""ComfyUI nodes of the pack. The node modules import ComfyUI (comfy_api, comfy, folder_paths); `options` does not.

ComfyUI loads the pack through the top-level __init__.py, which imports `nodes.extension`.
"""
