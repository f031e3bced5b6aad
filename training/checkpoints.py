"""Checkpoint files written by training, always atomically (temporary file + ``os.replace``).

* Weights: ``model.state_dict()`` of the unwrapped model (no ``module.`` / ``_orig_mod.`` prefixes)
  in safetensors, i.e. the official key names; ``birefnet.load_model`` reads them.
* Training state: a dict of tensors and plain Python values (model and optimizer state, scaler,
  counters, RNG states; ``training.state`` fills it) saved with ``torch.save`` and read with
  ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file
from torch import nn

from birefnet import BiRefNetError


def unwrap_model(model: nn.Module) -> nn.Module:
    """The plain module inside DistributedDataParallel and/or torch.compile wrappers."""
    while True:
        if hasattr(model, "_orig_mod"):
            model = model._orig_mod
        elif isinstance(model, nn.parallel.DistributedDataParallel):
            model = model.module
        else:
            return model


def _temporary(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def _publish(tmp: Path, path: Path) -> None:
    """Give ``tmp`` the usual file mode (0666 minus umask) and rename it onto ``path`` atomically."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    os.replace(tmp, path)


def save_weights(model: nn.Module, path: str | os.PathLike, metadata: dict[str, str] | None = None) -> Path:
    """Write the unwrapped model's state dict (official key names) as safetensors; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to("cpu").contiguous() for k, v in unwrap_model(model).state_dict().items()}
    tmp = _temporary(path)
    save_file(state, str(tmp), metadata={"format": "pt", **(metadata or {})})
    _publish(tmp, path)
    return path


def save_training_state(state: dict[str, Any], path: str | os.PathLike) -> Path:
    """``torch.save`` ``state`` atomically; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary(path)
    torch.save(state, tmp)
    _publish(tmp, path)
    return path


def load_training_state(path: str | os.PathLike) -> dict[str, Any]:
    """Read a training state written by ``save_training_state`` (no code is executed)."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise BiRefNetError(
            f"Cannot read the training state {path}: {exc}. Delete it to start over, or pass --no-resume."
        ) from exc
