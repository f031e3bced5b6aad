"""Our model, loaded through load_model, against the reference implementation's logits."""

from __future__ import annotations

import parity
import pytest
import torch

from birefnet import load_model

CASES = ["swin_v1_t_512", "pvt_v2_b0_512", "swin_v1_s_512_legacy"]


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
def test_parity_with_reference_logits(case):
    def forward(state_dict, x, info):
        model = load_model(state_dict, patch_order=info["patch_order"])
        assert model.backbone_name == info["bb"]
        with torch.inference_mode():
            return model(x)

    report = parity.check(forward, case, tol=parity.DEFAULT_TOL, verbose=False)
    assert report["passed"], report
