"""timm -> BiRefNet encoder key mapping: synthetic key names, and real timm models (pretrained=False)
whose features must equal our encoder's after the mapping."""

import pytest
import torch
import torch.nn.functional as F

from birefnet import BiRefNet
from training.timm_init import map_timm_state_dict, timm_to_birefnet_key


def test_key_mapping_on_timm_style_names():
    pvt = {
        "patch_embed.proj.weight": "patch_embed1.proj.weight",
        "stages.2.downsample.norm.bias": "patch_embed3.norm.bias",
        "stages.0.blocks.1.attn.kv.weight": "block1.1.attn.kv.weight",
        "stages.3.blocks.0.mlp.dwconv.weight": "block4.0.mlp.dwconv.dwconv.weight",
        "stages.1.norm.weight": "norm2.weight",
        "head.weight": None,
    }
    for timm_key, ours in pvt.items():
        assert timm_to_birefnet_key(timm_key, "pvt_v2_b0") == ours
    assert timm_to_birefnet_key("layers.1.downsample.reduction.weight", "swin_v1_t", True) == (
        "layers.0.downsample.reduction.weight"
    )
    assert timm_to_birefnet_key("layers.1.downsample.reduction.weight", "swin_v1_t", False) == (
        "layers.1.downsample.reduction.weight"
    )
    assert timm_to_birefnet_key("norm.weight", "swin_v1_l") == "norm3.weight"
    assert timm_to_birefnet_key("head.fc.weight", "swin_v1_l") is None
    # The layout (merging at the start or at the end of a stage) is detected from the keys.
    old = map_timm_state_dict({"layers.0.downsample.norm.weight": torch.ones(1)}, "swin_v1_t")
    new = map_timm_state_dict({"layers.1.downsample.norm.weight": torch.ones(1)}, "swin_v1_t")
    assert list(old) == list(new) == ["bb.layers.0.downsample.norm.weight"]


def test_pvt_v2_b0_features_equal_timm_after_mapping():
    timm = pytest.importorskip("timm")
    from training.timm_init import load_timm_weights

    torch.manual_seed(0)
    reference = timm.create_model("pvt_v2_b0", pretrained=False).eval()
    model = BiRefNet("pvt_v2_b0").eval()
    assert load_timm_weights(model, reference.state_dict()) == []
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        ours = model.bb(x)
        _, theirs = reference.forward_intermediates(x)
    assert len(ours) == len(theirs) == 4
    for a, b in zip(ours, theirs, strict=True):
        torch.testing.assert_close(a, b)


@pytest.mark.slow
def test_swin_v1_t_features_equal_timm_after_mapping():
    timm = pytest.importorskip("timm")
    from training.timm_init import load_timm_weights

    torch.manual_seed(0)
    # 448 input: the last stage (14x14) is larger than the window, where timm and the original agree.
    reference = timm.create_model("swin_tiny_patch4_window7_224", pretrained=False, img_size=448).eval()
    with torch.no_grad():
        for p in reference.parameters():
            p.add_(0.02 * torch.randn_like(p))  # non-trivial norms
    model = BiRefNet("swin_v1_t").eval()
    left = load_timm_weights(model, reference.state_dict())
    assert {k for k in left if "relative_position_index" not in k} == {
        f"bb.norm{i}.{p}" for i in range(3) for p in ("weight", "bias")
    }
    x = torch.randn(1, 3, 448, 448)
    with torch.no_grad():
        ours = model.bb(x)
        _, stages = reference.forward_intermediates(x, norm=False)
        final = reference.forward_features(x).permute(0, 3, 1, 2)
    torch.testing.assert_close(ours[3], final, rtol=1e-4, atol=1e-4)
    for i in range(3):  # our per-stage out norms on timm's stage outputs
        norm = getattr(model.bb, f"norm{i}")
        expected = F.layer_norm(
            stages[i].permute(0, 2, 3, 1), norm.normalized_shape, norm.weight, norm.bias, 1e-5
        )
        torch.testing.assert_close(ours[i], expected.permute(0, 3, 1, 2), rtol=1e-4, atol=1e-4)
