"""Our model, loaded through load_model, against the reference implementation's logits."""

from __future__ import annotations

import parity
import pytest
import torch

from birefnet import KERNEL_OPS, load_model
from birefnet.network.ops import kernel_choice

CASES = ["swin_v1_t_512", "pvt_v2_b0_512", "swin_v1_s_512_legacy"]


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
def test_parity_with_reference_logits(case, monkeypatch):
    # The kernels as users get them: chosen by a trial of real calls ("auto"; tests/conftest.py fixes them).
    for op in KERNEL_OPS:
        monkeypatch.delenv(kernel_choice.backend_variable(op), raising=False)
    monkeypatch.setenv("BIREFNET_KERNEL_CACHE", "off")
    kernel_choice.forget()

    def forward(state_dict, x, info):
        model = load_model(state_dict, patch_order=info["patch_order"])
        assert model.backbone_name == info["bb"]
        with torch.inference_mode():
            return model(x)

    report = parity.check(forward, case, tol=parity.DEFAULT_TOL, verbose=False)
    assert report["passed"], report
