"""The pack's JSON routes on ComfyUI's own server (PromptServer), read by web/model_info.js.

GET /birefnet_exact/models (also /api/birefnet_exact/models: ComfyUI serves every route under /api too):
what each model list entry is (``model_info.model_entries``). Registered while ComfyUI loads node packs,
before it builds its route table.
"""

from __future__ import annotations

import logging

from aiohttp import web

from .model_info import model_entries

log = logging.getLogger("birefnet")

MODELS_ROUTE = "/birefnet_exact/models"
DOWNLOAD_EVENT = "birefnet_exact.download"
"""Websocket event sent while a variant downloads: {node, name, repo_id, received, total}."""

_registered = False


async def get_models(request: web.Request) -> web.Response:
    try:
        return web.json_response(model_entries())
    except Exception as error:  # the UI should say why, not hang on a 500 page
        log.exception("BiRefNet: could not list models")
        return web.json_response({"error": f"{type(error).__name__}: {error}"}, status=500)


def register_routes() -> None:
    """Add the routes to ``PromptServer.instance.routes`` once (no-op outside a running ComfyUI server)."""
    global _registered
    if _registered:
        return
    try:
        from server import PromptServer
    except ImportError:
        return
    instance = getattr(PromptServer, "instance", None)
    if instance is None:
        return
    instance.routes.get(MODELS_ROUTE)(get_models)
    _registered = True


def send_to_ui(event: str, data: dict) -> None:
    """Send a websocket event to the browser that queued the prompt (no-op outside a ComfyUI server)."""
    try:
        from server import PromptServer
    except ImportError:
        return
    instance = getattr(PromptServer, "instance", None)
    if instance is not None:
        instance.send_sync(event, data, instance.client_id)
