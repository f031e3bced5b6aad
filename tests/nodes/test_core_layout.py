"""ComfyUI core's background-removal checkpoints, and files in that folder that are not BiRefNet.

Core (comfy/bg_removal_model.py, comfy/background_removal/birefnet.py) builds BiRefNet with the official
module names and loads ``models/background_removal/*.safetensors`` by those names, recognising BiRefNet by the
key ``bb.layers.1.blocks.0.attn.relative_position_index``. Comfy-Org's repackaged ``birefnet.safetensors``
(444,473,596 bytes, header 86,776 bytes) is exactly the official Swin-L key set, 754 tensors, floats in fp16,
int64 ``relative_position_index`` / ``num_batches_tracked`` buffers and ``{"format": "pt"}`` metadata; its
``lucida.safetensors`` (884,878,856 bytes) is the same key set in fp32. The test writes that layout with a
smaller Swin (same key names) and random weights.
"""

from __future__ import annotations

import pytest
import torch
from conftest import random_state_dict
from safetensors.torch import save_file

from birefnet import BiRefNetError, load_model, predict
from birefnet.weights.files import check_birefnet_file, read_safetensors_header

CORE_MARKER = "bb.layers.1.blocks.0.attn.relative_position_index"


def save_core_layout(state_dict: dict[str, torch.Tensor], path) -> None:
    """Write ``state_dict`` as Comfy-Org repackages BiRefNet: every key, floats fp16, format metadata."""
    tensors = {k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in state_dict.items()}
    save_file(tensors, str(path), metadata={"format": "pt"})


@pytest.mark.slow
def test_core_repackaged_file_gives_the_same_mask_as_the_official_layout(tmp_path):
    state = random_state_dict("swin_v1_t", seed=3)
    (tmp_path / "official").mkdir()
    (tmp_path / "background_removal").mkdir()
    official_path = tmp_path / "official" / "BiRefNet.safetensors"
    core_path = tmp_path / "background_removal" / "birefnet.safetensors"
    same_weights = {k: (v.half().float() if v.is_floating_point() else v) for k, v in state.items()}
    save_file(same_weights, str(official_path))
    save_core_layout(state, core_path)

    header = read_safetensors_header(core_path)
    assert CORE_MARKER in header and header[CORE_MARKER]["dtype"] == "I64"  # what core's loader looks for
    assert header["bb.patch_embed.proj.weight"]["dtype"] == "F16"

    official, core = load_model(official_path), load_model(core_path)
    assert core.patch_order == official.patch_order == "legacy"  # "birefnet" names the General release
    for key, value in official.state_dict().items():
        assert torch.equal(core.state_dict()[key], value), key
    image = torch.rand(1, 200, 260, 3, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        expected = predict(official, image, 256)
        got = predict(core, image, 256)
    assert got.shape == (1, 200, 260)
    # equal weights, equal network: equal up to float reassociation of the CPU kernels between two models
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)
    assert expected.std() > 0.01  # a real, non-constant mask


def test_file_of_another_network_is_refused_from_its_header_alone(tmp_path):
    path = tmp_path / "sam_vit_b.safetensors"
    save_file(
        {
            "image_encoder.patch_embed.proj.weight": torch.zeros(8, 3, 4, 4),
            "mask_decoder.iou_token.weight": torch.zeros(1, 8),
        },
        str(path),
    )
    data = path.read_bytes()
    path.write_bytes(data[:-64])  # weights cut short: only the header may be read to decide
    with pytest.raises(
        BiRefNetError, match=r"sam_vit_b\.safetensors is not a BiRefNet checkpoint.*Segment Anything"
    ):
        check_birefnet_file(path)
    with pytest.raises(
        BiRefNetError, match=r"sam_vit_b\.safetensors is not a BiRefNet checkpoint.*Segment Anything"
    ):
        load_model(path)


def test_unknown_network_is_named_by_its_first_keys(tmp_path):
    path = tmp_path / "mystery.safetensors"
    save_file({"layer1.conv.weight": torch.zeros(2), "head.fc.bias": torch.zeros(2)}, str(path))
    with pytest.raises(
        BiRefNetError, match=r"mystery\.safetensors.*unknown network with 2 tensors.*layer1\.conv\.weight"
    ):
        load_model(path)
