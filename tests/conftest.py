"""Shared fixtures: the parity tool, and the one set of tiny random-weight models every test uses.

``random_state_dict(backbone, seed)``: random BiRefNet weights with the official key names (a function, for
other backbones and seeds); ``tiny_state_dict``: its pvt_v2_b0 weights; ``tiny_checkpoint``: those saved as
``model.safetensors``; ``tiny_model``: ``load_model(tiny_state_dict)``, shared by the whole session (never
change it); ``fresh_tiny_model``: a copy of it of the test's own (to compile, train, convert).
"""

from __future__ import annotations

import copy
import importlib.util
import os
import sys
from pathlib import Path

import pytest
import torch

FIXTURES = Path(__file__).parent / "fixtures"
PARITY_DIR = FIXTURES / "parity"
os.environ.setdefault("BIREFNET_PARITY_DATA", str(PARITY_DIR))
if str(PARITY_DIR) not in sys.path:
    sys.path.insert(0, str(PARITY_DIR))
REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

# The pack as ComfyUI sees it: the repository folder imported as a package; tests of nodes/ import
# `comfyui_birefnet_exact.nodes.x`. The nodes import the library's public API relatively
# (`from ..birefnet import x`); here `comfyui_birefnet_exact.birefnet` is the top-level `birefnet` that the
# library's and training's tests import, so every test sees one library (one BiRefNetError, one kernel cache).
PACK = "comfyui_birefnet_exact"
if PACK not in sys.modules:
    import birefnet

    sys.modules[f"{PACK}.birefnet"] = birefnet
    _spec = importlib.util.spec_from_file_location(
        PACK, REPO_ROOT / "__init__.py", submodule_search_locations=[str(REPO_ROOT)]
    )
    _pack = importlib.util.module_from_spec(_spec)
    sys.modules[PACK] = _pack
    _spec.loader.exec_module(_pack)

# One CPU kernel per operation for the whole test run (also inherited by the ComfyUI servers the e2e tests
# start). Left on "auto", an operation's first calls run on its backends in turn while their speed is compared
# (birefnet/network/ops/kernel_choice.py); the backends agree only to float rounding, so two runs compared bit
# for bit could differ. The tests of that trial unset these (monkeypatch), and the parity test runs on "auto".
from birefnet.network.ops.kernel_choice import KERNEL_OPS, backend_variable  # noqa: E402

for _op in KERNEL_OPS:
    os.environ.setdefault(backend_variable(_op), "onednn")


def random_state_dict(backbone: str = "pvt_v2_b0", seed: int = 0) -> dict[str, torch.Tensor]:
    """A random-weight BiRefNet state dict with the official key names (BN statistics randomised too)."""
    from birefnet.network.model import BiRefNet

    torch.manual_seed(seed)
    model = BiRefNet(backbone)
    state = model.state_dict()
    gen = torch.Generator().manual_seed(seed)
    for key, value in state.items():
        if key.endswith("running_mean"):
            value.copy_(torch.randn(value.shape, generator=gen) * 0.1)
        elif key.endswith("running_var"):
            value.copy_(torch.rand(value.shape, generator=gen) + 0.5)
        elif key.endswith(("offset_conv.weight", "modulator_conv.weight")):
            value.copy_(torch.randn(value.shape, generator=gen) * 0.01)
    return {k: v.clone() for k, v in state.items()}


@pytest.fixture(scope="session")
def tiny_state_dict() -> dict[str, torch.Tensor]:
    """Random pvt_v2_b0 BiRefNet weights (the smallest released architecture, ~16M parameters)."""
    return random_state_dict("pvt_v2_b0")


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory, tiny_state_dict) -> Path:
    """``tiny_state_dict`` saved as ``model.safetensors`` in a temporary folder."""
    from safetensors.torch import save_file

    path = tmp_path_factory.mktemp("ckpt") / "model.safetensors"
    save_file(tiny_state_dict, str(path))
    return path


@pytest.fixture(scope="session")
def tiny_model(tiny_state_dict):
    """``load_model(tiny_state_dict)`` in eval mode, one for the whole session: tests must not change it."""
    from birefnet import load_model

    return load_model(tiny_state_dict)


@pytest.fixture
def fresh_tiny_model(tiny_model):
    """A copy of ``tiny_model`` for one test, which may change it (compile it, train it, convert it)."""
    return copy.deepcopy(tiny_model)


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny forward passes run many times faster on one thread than on two busy cores (use per module)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
