"""Stochastic depth in the encoders: the reference's linear rule over all blocks, per-sample branch drops at
each block's rate with 1/(1-p) scaling, train mode only, no state-dict change, draws from torch's seeded
stream (so the outputs follow the seed) and no effect in eval mode."""

from __future__ import annotations

import json
import math

import pytest
import torch
from testdata import PARITY_DIR
from torch import nn

from birefnet import BiRefNet
from birefnet.network.backbones import DropPath
from birefnet.network.backbones.pvt_v2 import PvtBlock
from birefnet.network.backbones.swin import SwinBlock
from birefnet.network.backbones.swin_windows import window_layout
from training.presets import default_drop_path_rate


def drop_probs(model: nn.Module) -> list[float]:
    return [m.drop_prob for m in model.modules() if isinstance(m, DropPath)]


def no_dropout(model: BiRefNet) -> BiRefNet:
    for module in model.modules():
        if isinstance(module, nn.Dropout):
            module.p = 0.0
    return model


@pytest.mark.parametrize(
    "backbone,num_blocks,rate",
    [("swin_v1_t", 12, 0.2), ("swin_v1_l", 24, 0.2), ("pvt_v2_b0", 8, 0.1), ("pvt_v2_b5", 52, 0.1)],
)
def test_rates_rise_linearly_over_all_blocks_and_default_to_off(backbone, num_blocks, rate):
    assert default_drop_path_rate(backbone) == rate
    with torch.device("meta"):
        model = BiRefNet(backbone, drop_path_rate=rate)
        plain = BiRefNet(backbone)
    # One module per block, in depth order (modules() walks stage by stage, block by block).
    assert drop_probs(model) == pytest.approx(
        [rate * i / (num_blocks - 1) for i in range(num_blocks)], abs=1e-12
    )
    assert drop_probs(plain) == [0.0] * num_blocks
    model.bb.set_drop_path_rate(0.0)
    assert drop_probs(model) == [0.0] * num_blocks


@pytest.mark.parametrize("backbone", ["swin_v1_t", "pvt_v2_b0"])
def test_state_dict_keys_unchanged_by_drop_path(backbone):
    manifest = json.loads((PARITY_DIR / f"official_state_dict_{backbone}.json").read_text())
    with torch.device("meta"):
        model = BiRefNet(backbone, drop_path_rate=0.3)
    assert sorted(model.state_dict()) == sorted(manifest)
    assert all(
        not list(m.parameters()) and not list(m.buffers()) for m in model.modules() if isinstance(m, DropPath)
    )


@pytest.mark.parametrize("backbone", ["swin_v1_t", "pvt_v2_b0"])
def test_each_block_drops_whole_samples_at_its_rate_and_scales_survivors(backbone):
    with torch.device("meta"):
        model = BiRefNet(backbone, drop_path_rate=default_drop_path_rate(backbone)).train()
    modules = [m for m in model.modules() if isinstance(m, DropPath)]
    n = 20000
    for index, module in enumerate(modules):
        prob = module.drop_prob
        torch.manual_seed(index)
        x = torch.ones(n, 7, 3)
        out = module(x)
        if prob == 0:  # the first block
            assert index == 0 and out is x
            continue
        per_sample = out.flatten(1)
        dropped = (per_sample == 0).all(dim=1)
        kept = torch.isclose(per_sample, torch.tensor(1 / (1 - prob)), rtol=1e-6, atol=0).all(dim=1)
        assert bool((dropped | kept).all())  # a branch is dropped or kept as a whole, survivors x 1/(1-p)
        sigma = math.sqrt(prob * (1 - prob) / n)
        fraction = dropped.float().mean().item()
        assert abs(fraction - prob) < 5 * sigma, (index, prob, fraction)  # fixed seeds: no flakes
        module.eval()
        assert module(x) is x
        module.train()


@pytest.mark.parametrize("kind", ["swin", "pvt"])
def test_both_residual_branches_are_wrapped(kind):
    # drop_prob 1 drops both branches of every sample: the block is the identity in train mode (and only then).
    torch.manual_seed(0)
    h, w, dim = 8, 8, 32
    x = torch.randn(2, h * w, dim)
    if kind == "swin":
        block = SwinBlock(dim, num_heads=2, window=4, shift=2)
        layout = window_layout(h, w, 4, 2, x.device)

        def run():
            return block(x, layout)
    else:
        block = PvtBlock(dim, num_heads=2, mlp_ratio=4, sr_ratio=2)

        def run():
            return block(x, h, w)

    block.drop_path.drop_prob = 1.0
    assert torch.equal(run(), x)
    block.eval()
    assert not torch.allclose(run(), x)
    block.train()
    block.drop_path.drop_prob = 0.0
    assert not torch.allclose(run(), x)


@pytest.mark.slow
def test_train_outputs_follow_the_seed_only_through_drop_path():
    torch.manual_seed(0)
    model = no_dropout(BiRefNet("pvt_v2_b0", drop_path_rate=default_drop_path_rate("pvt_v2_b0"))).train()
    x = torch.randn(2, 3, 64, 64)

    def final(seed: int) -> torch.Tensor:
        torch.manual_seed(seed)
        with torch.no_grad():
            return model(x).logits[-1]

    assert torch.equal(final(1), final(1))
    assert not torch.allclose(final(1), final(2))
    model.bb.set_drop_path_rate(0.0)
    assert torch.equal(final(1), final(2))


@pytest.mark.parametrize("backbone", ["pvt_v2_b0", "swin_v1_t"])
def test_eval_mode_is_unaffected(backbone):
    torch.manual_seed(0)
    model = BiRefNet(backbone).eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.inference_mode():
        plain = model(x)
        model.bb.set_drop_path_rate(0.5)
        assert max(drop_probs(model)) == 0.5
        torch.testing.assert_close(model(x), plain, rtol=0, atol=0)
