"""Seeding, RNG states and the resumable training state (``training_state.pt``).

``set_seeds`` seeds Python, numpy and torch once per run; ``micro_batch_seed`` reseeds torch before each
micro-batch from (seed, step, slot), so dropout and drop-path draws do not depend on how the micro-batches
are spread over DDP ranks and accumulation micro-steps, and a resumed run needs no mid-epoch RNG replay.
The state file holds the model, optimizer and scaler states, the counters, the RNG states and the config;
``resume`` restores all but the config and says where to continue.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .checkpoints import load_training_state, save_training_state, unwrap_model

STATE_FILE = "training_state.pt"


def set_seeds(seed: int) -> None:
    """Seed Python's, numpy's and torch's global RNGs."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def micro_batch_seed(seed: int, step: int, slot: int) -> int:
    """Torch seed for the micro-batch in ``slot`` (micro-step * world_size + rank) of optimizer step ``step``."""
    return int(np.random.SeedSequence([seed, step, slot]).generate_state(1)[0])


def rng_states() -> dict[str, Any]:
    """Python, numpy and torch RNG states as tensors / plain values (loadable with weights_only)."""
    version, internal, gauss = random.getstate()
    np_state = np.random.get_state()
    states: dict[str, Any] = {
        "python": [version, list(internal), gauss],
        "numpy": [
            np_state[0],
            torch.from_numpy(np_state[1].astype(np.int64)),
            int(np_state[2]),
            int(np_state[3]),
            float(np_state[4]),
        ],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def restore_rng_states(states: dict[str, Any]) -> None:
    """Inverse of ``rng_states``."""
    version, internal, gauss = states["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, pos, has_gauss, cached = states["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def save_state(
    path: Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    counters: dict[str, Any],
    config: dict[str, Any],
) -> None:
    """Write the resumable state; ``counters``: step, epoch, step_in_epoch, epoch_done."""
    save_training_state(
        {
            "model": {k: v.detach().cpu() for k, v in unwrap_model(model).state_dict().items()},
            "optimizer": optimizer.state_dict(),
            "scaler": scaler.state_dict(),
            **counters,
            "rng": rng_states(),
            "config": json.dumps(config),
        },
        path,
    )


def resume(
    path: Path, model: nn.Module, optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler
) -> tuple[int, int, int]:
    """Load the state at ``path`` into the model, optimizer, scaler and RNGs; returns (optimizer steps
    done, epoch to continue, steps of that epoch already done)."""
    state = load_training_state(path)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scaler.load_state_dict(state["scaler"])
    step, epoch, skip_steps = state["step"], state["epoch"], state["step_in_epoch"]
    if state["epoch_done"]:
        epoch, skip_steps = epoch + 1, 0
    restore_rng_states(state["rng"])
    return step, epoch, skip_steps
