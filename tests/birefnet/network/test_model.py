"""Structure of the model: official key names, patch orders, input sizes, train-mode outputs."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from testdata import PARITY_DIR

from birefnet import BiRefNet, BiRefNetError, TrainOutput
from birefnet.network.backbones.swin_windows import relative_position_index, shifted_window_mask
from birefnet.network.patches import image_to_patches

BACKBONES = [
    "swin_v1_t",
    "swin_v1_s",
    "swin_v1_b",
    "swin_v1_l",
    "pvt_v2_b0",
    "pvt_v2_b1",
    "pvt_v2_b2",
    "pvt_v2_b5",
]


@pytest.mark.parametrize("backbone", BACKBONES)
def test_state_dict_keys_and_shapes_equal_the_official_manifest(backbone):
    manifest = json.loads((PARITY_DIR / f"official_state_dict_{backbone}.json").read_text())
    with torch.device("meta"):
        model = BiRefNet(backbone)
    ours = {k: (list(v.shape), str(v.dtype).removeprefix("torch.")) for k, v in model.state_dict().items()}
    official = {k: (m["shape"], m["dtype"]) for k, m in manifest.items()}
    assert sorted(ours) == sorted(official)
    assert ours == official


@pytest.mark.parametrize("window", [7, 12])
def test_relative_position_index_equals_reference(window):
    expected = np.load(PARITY_DIR / f"relpos_index_ws{window}.npy")
    assert np.array_equal(relative_position_index(window).numpy(), expected)


def test_shifted_window_mask_by_hand():
    # A 4x4 grid, window 2, shift 1: the regions are rows {0,1},{2},{3} x cols {0,1},{2},{3}.
    mask = shifted_window_mask(4, 4, 2, 1, torch.device("cpu"))
    assert mask.shape == (4, 4, 4)
    # Top-left window lies in one region: nothing masked.
    assert torch.equal(mask[0], torch.zeros(4, 4))
    # Bottom-right window: tokens (2,2),(2,3),(3,2),(3,3) are in four different regions.
    assert torch.equal(mask[3], torch.full((4, 4), -100.0).fill_diagonal_(0.0))
    # Top-right window: tokens (0,2),(0,3),(1,2),(1,3): columns 2 and 3 differ, rows agree.
    expected = torch.tensor(
        [[0, -100, 0, -100], [-100, 0, -100, 0], [0, -100, 0, -100], [-100, 0, -100, 0.0]]
    )
    assert torch.equal(mask[1], expected)


@pytest.mark.parametrize("order", ["current", "legacy"])
def test_patch_channel_order_by_hand(order):
    n, c, h, w, gh, gw = 1, 3, 6, 8, 3, 2
    x = torch.randn(n, c, h, w)
    patches = image_to_patches(x, gh, gw, order)
    ph, pw = h // gh, w // gw
    assert patches.shape == (n, c * gh * gw, ph, pw)
    for ch in range(c):
        for row in range(gh):
            for col in range(gw):
                index = ch * gh * gw + row * gw + col if order == "current" else (col * gh + row) * c + ch
                expected = x[0, ch, row * ph : (row + 1) * ph, col * pw : (col + 1) * pw]
                assert torch.equal(patches[0, index], expected)


@pytest.mark.parametrize("backbone,size", [("pvt_v2_b0", (64, 96)), ("swin_v1_t", (96, 64))])
def test_non_square_input_gives_logits_of_the_input_size(backbone, size):
    torch.manual_seed(0)
    model = BiRefNet(backbone).eval()
    with torch.inference_mode():
        out = model(torch.randn(2, 3, *size))
    assert out.shape == (2, 1, *size)
    assert torch.isfinite(out).all()


def test_input_size_not_multiple_of_32_is_a_clear_error():
    model = BiRefNet("pvt_v2_b0").eval()
    with pytest.raises(BiRefNetError, match="multiples of 32"):
        model(torch.randn(1, 3, 50, 64))


@pytest.mark.slow
def test_train_mode_returns_multi_stage_and_gradient_outputs(tiny_state_dict):
    model = BiRefNet("pvt_v2_b0")
    model.load_state_dict(tiny_state_dict)
    model.train()
    x = torch.randn(2, 3, 64, 128)
    out = model(x)
    assert isinstance(out, TrainOutput)
    assert [tuple(t.shape) for t in out.logits] == [
        (2, 1, 2, 4),
        (2, 1, 4, 8),
        (2, 1, 8, 16),
        (2, 1, 64, 128),
    ]
    assert [tuple(t.shape) for t in out.gradient_preds] == [(2, 1, 2, 4), (2, 1, 4, 8), (2, 1, 8, 16)]
    assert [tuple(t.shape) for t in out.gradient_labels] == [(2, 1, 64, 128)] * 3
    loss = sum(t.mean() for t in out.logits + out.gradient_preds)
    loss.backward()
    assert model.decoder.gdt_convs_pred_4[0].weight.grad is not None
    # The final logits in train mode equal the eval-mode logits (BN in eval for both to compare).
    model.eval()
    with torch.no_grad():
        eval_out = model(x)
    model.train()
    for module in model.modules():
        if isinstance(module, (torch.nn.BatchNorm2d, torch.nn.Dropout)):
            module.eval()
    with torch.no_grad():
        torch.testing.assert_close(model(x).logits[-1], eval_out)


def test_gradient_label_is_laplacian_times_upsampled_stage_logits(tiny_state_dict):
    import kornia

    model = BiRefNet("pvt_v2_b0")
    model.load_state_dict(tiny_state_dict)
    model.train()
    x = torch.randn(2, 3, 64, 64)  # train-mode BatchNorm after global pooling needs a batch > 1
    with torch.no_grad():
        out = model(x)
    target = kornia.filters.laplacian(x.mean(1, keepdim=True), kernel_size=5)
    for stage_logits, label in zip(out.logits[:3], out.gradient_labels, strict=True):
        up = torch.nn.functional.interpolate(stage_logits, size=(64, 64), mode="bilinear", align_corners=True)
        torch.testing.assert_close(label, target * up)


@pytest.mark.parametrize("h,w", [(1, 7), (2, 2), (3, 9), (5, 4), (17, 11)])
@pytest.mark.parametrize("with_bias", [True, False])
def test_two_3x3_convolutions_as_one_5x5_equal_the_direct_pair(h, w, with_bias):
    from birefnet.network.ops.composed_conv import two_convs_3x3

    torch.manual_seed(h * w)
    w1, w2 = torch.randn(8, 3, 3, 3), torch.randn(2, 8, 3, 3)
    b1, b2 = (torch.randn(8), torch.randn(2)) if with_bias else (None, None)
    x = torch.randn(2, 3, h, w)
    expected = F.conv2d(F.conv2d(x, w1, b1, padding=1), w2, b2, padding=1)  # the first output zero-padded
    torch.testing.assert_close(two_convs_3x3(x, w1, b1, w2, b2), expected, atol=1e-4, rtol=1e-5)


@pytest.mark.parametrize("h,w,window,shift", [(8, 8, 4, 2), (5, 7, 3, 1), (8, 8, 12, 6), (2, 9, 7, 0)])
def test_window_layout_equals_pad_roll_partition(h, w, window, shift):
    from birefnet.network.backbones.swin_windows import window_layout

    n, c = 2, 3
    x = torch.randn(n, h * w, c)
    hp, wp = h + (-h) % window, w + (-w) % window
    # Reference: zero-pad right/bottom, roll by -shift, cut into row-major windows of row-major tokens.
    grid = torch.nn.functional.pad(x.view(n, h, w, c), (0, 0, 0, wp - w, 0, hp - h))
    grid = torch.roll(grid, shifts=(-shift, -shift), dims=(1, 2))
    expected = grid.view(n, hp // window, window, wp // window, window, c).permute(0, 1, 3, 2, 4, 5)
    expected = expected.reshape(n, -1, c)
    layout = window_layout(h, w, window, shift, torch.device("cpu"))
    tokens = window * window
    expected = expected.view(n, -1, tokens, c)[:, layout.order].view(n, -1, c)  # windows in layout order
    assert sorted(layout.order.tolist()) == list(range(hp * wp // tokens))
    padded = torch.cat((x, torch.zeros(n, 1, c)), dim=1)
    assert torch.equal(padded.index_select(1, layout.gather), expected)
    real = layout.gather[layout.gather < h * w]
    assert torch.equal(real.sort().values, torch.arange(h * w))  # every token in exactly one window slot
    assert layout.padded == (hp != h or wp != w)
    assert all(run.mask is None for run in layout.runs) == (shift == 0)
    full_mask = shifted_window_mask(hp, wp, window, shift, torch.device("cpu"))[layout.order]
    for run in layout.runs:  # each run carries exactly its windows' masks, and only windows that need one
        if run.mask is None:
            assert not full_mask[run.start : run.stop].any()
        else:
            assert torch.equal(run.mask, full_mask[run.start : run.stop])
            assert run.mask.flatten(1).ne(0).any(1).all()


@pytest.mark.slow
@pytest.mark.parametrize("backbone", ["swin_v1_t", "pvt_v2_b0"])
def test_a_batch_equals_its_images_one_by_one(backbone):
    # 96x64: padded and shifted windows at every Swin stage, several windows per image.
    torch.manual_seed(0)
    model = BiRefNet(backbone).eval()
    x = torch.randn(3, 3, 96, 64)
    with torch.inference_mode():
        batch = model(x)
        single = torch.cat([model(x[i : i + 1]) for i in range(3)])
    torch.testing.assert_close(batch, single, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize(
    "size_in,size_out", [((128, 96), (16, 12)), ((7, 9), (3, 1)), ((5, 5), (1, 1)), ((33, 20), (32, 20))]
)
def test_downsampling_by_matmul_equals_interpolate(size_in, size_out):
    from birefnet.network.ops.resize import resize_bilinear_by_matmul

    x = torch.randn(2, 3, *size_in, generator=torch.Generator().manual_seed(size_in[0]))
    expected = F.interpolate(x, size=size_out, mode="bilinear", align_corners=True)
    torch.testing.assert_close(resize_bilinear_by_matmul(x, size_out), expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("size_in,size_out", [((8, 6), (16, 12)), ((5, 7), (5, 9)), ((33, 20), (32, 20))])
def test_resize_into_a_channel_slice_equals_interpolate(size_in, size_out):
    """Enlarging writes PyTorch's own kernel's values (bit for bit); shrinking those of ``resize``; the other
    channels of the buffer are left alone."""
    from birefnet.network.ops.resize import resize, resize_into

    x = torch.randn(2, 3, *size_in, generator=torch.Generator().manual_seed(size_in[1]))
    buffer = torch.full((2, 5, *size_out), 7.0)
    written = resize_into(x, buffer[:, :3])
    assert written.data_ptr() == buffer.data_ptr()
    if size_out[0] >= size_in[0] and size_out[1] >= size_in[1]:
        expected = F.interpolate(x, size=size_out, mode="bilinear", align_corners=True)
        torch.testing.assert_close(buffer[:, :3], expected, atol=0, rtol=0)
    else:
        torch.testing.assert_close(buffer[:, :3], resize(x, size_out), atol=0, rtol=0)
    assert (buffer[:, 3:] == 7).all()
