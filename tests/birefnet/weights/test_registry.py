"""The variant registry: every released checkpoint, its facts, and lookups by name and by path."""

import pathlib

import pytest

from birefnet import (
    DYNAMIC_MAX_SIDE,
    DYNAMIC_MIN_SIDE,
    VARIANTS,
    BiRefNetError,
    get_variant,
    variant_for_path,
)

ZHENG_NAMES = [
    "BiRefNet",
    "BiRefNet_lite",
    "BiRefNet_lite-2K",
    "BiRefNet-portrait",
    "BiRefNet-matting",
    "BiRefNet_HR",
    "BiRefNet_HR-matting",
    "BiRefNet_dynamic",
    "BiRefNet_dynamic-matting",
    "BiRefNet_512x512",
    "BiRefNet-DIS5K",
    "BiRefNet-DIS5K-TR_TEs",
    "BiRefNet-HRSOD",
    "BiRefNet-COD",
    "BiRefNet-legacy",
]
CURRENT_ORDER = {"BiRefNet_HR", "BiRefNet_HR-matting", "BiRefNet_dynamic", "BiRefNet_dynamic-matting",
                 "BiRefNet_512x512"}  # fmt: skip


def test_registry_holds_exactly_the_released_checkpoints():
    assert set(VARIANTS) == set(ZHENG_NAMES) | {"RMBG-2.0"}
    for name, variant in VARIANTS.items():
        assert variant.name == name
        assert variant.filename == "model.safetensors"


def test_repository_ids_and_licences():
    for name in ZHENG_NAMES:
        assert VARIANTS[name].repo_id == f"ZhengPeng7/{name}"
        assert VARIANTS[name].license == "MIT"
        assert not VARIANTS[name].gated
    rmbg = VARIANTS["RMBG-2.0"]
    assert rmbg.repo_id == "briaai/RMBG-2.0"
    assert "non-commercial" in rmbg.license and "CC BY-NC 4.0" in rmbg.license
    assert rmbg.gated
    assert rmbg.url == "https://huggingface.co/briaai/RMBG-2.0/resolve/main/model.safetensors"


def test_patch_order_follows_the_release_date():
    for name, variant in VARIANTS.items():
        expected = "current" if name in CURRENT_ORDER else "legacy"
        assert variant.patch_order == expected, name


def test_backbones_resolutions_tasks_and_dtypes():
    lite = {"BiRefNet_lite", "BiRefNet_lite-2K"}
    for name, variant in VARIANTS.items():
        assert variant.backbone == ("swin_v1_t" if name in lite else "swin_v1_l"), name
        if variant.resolution is not None:
            width, height = variant.resolution
            assert width % 32 == 0 and height % 32 == 0, name
        assert variant.stored_dtype == ("fp16" if name in CURRENT_ORDER else "fp32"), name
    assert VARIANTS["BiRefNet_lite-2K"].resolution == (2560, 1440)
    assert VARIANTS["BiRefNet_HR"].resolution == (2048, 2048)
    assert VARIANTS["BiRefNet_HR-matting"].resolution == (2048, 2048)
    assert VARIANTS["BiRefNet_512x512"].resolution == (512, 512)
    assert VARIANTS["BiRefNet_dynamic"].resolution is None
    assert VARIANTS["BiRefNet_dynamic-matting"].resolution is None
    assert VARIANTS["BiRefNet"].resolution == (1024, 1024)
    assert VARIANTS["RMBG-2.0"].resolution == (1024, 1024)
    assert VARIANTS["BiRefNet-matting"].task == "matting"
    assert VARIANTS["BiRefNet-portrait"].task == "portrait"
    assert VARIANTS["BiRefNet-COD"].task == "COD"
    assert VARIANTS["BiRefNet-HRSOD"].task == "HRSOD"
    assert VARIANTS["BiRefNet-DIS5K"].task == "DIS"
    assert (DYNAMIC_MIN_SIDE, DYNAMIC_MAX_SIDE) == (256, 2304)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("BiRefNet_HR", "BiRefNet_HR"),
        ("birefnet_hr", "BiRefNet_HR"),
        ("BIREFNET-HR", "BiRefNet_HR"),
        ("ZhengPeng7/BiRefNet_HR", "BiRefNet_HR"),
        ("zhengpeng7/birefnet_hr-matting", "BiRefNet_HR-matting"),
        ("rmbg-2.0", "RMBG-2.0"),
        ("briaai/RMBG-2.0", "RMBG-2.0"),
        ("BiRefNet", "BiRefNet"),
        ("birefnet_lite-2k", "BiRefNet_lite-2K"),
    ],
)
def test_get_variant_finds_names_case_insensitively(query, expected):
    assert get_variant(query).name == expected


def test_unknown_variant_names_the_closest_ones():
    with pytest.raises(BiRefNetError) as caught:
        get_variant("BiRefNet_HRR")
    message = str(caught.value)
    assert "'BiRefNet_HRR'" in message and "Did you mean" in message and "BiRefNet_HR" in message
    with pytest.raises(BiRefNetError, match="Unknown BiRefNet variant"):
        get_variant("someone/BiRefNet_HR")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (
            "/hf/hub/models--ZhengPeng7--BiRefNet_HR/snapshots/" + "a" * 40 + "/model.safetensors",
            "BiRefNet_HR",
        ),
        ("/hf/hub/models--briaai--RMBG-2.0/snapshots/" + "b" * 40 + "/model.safetensors", "RMBG-2.0"),
        ("/hf/hub/models--ZhengPeng7--BiRefNet/blobs/0123abcd", "BiRefNet"),
        ("models/BiRefNet_HR.safetensors", "BiRefNet_HR"),
        ("models/birefnet_lite-2k.safetensors", "BiRefNet_lite-2K"),
        ("RMBG-2.0.safetensors", "RMBG-2.0"),
        ("models/BiRefNet-matting/model.safetensors", "BiRefNet-matting"),
        ("models/rmbg-2.0/model.safetensors", "RMBG-2.0"),
        ("weights/BiRefNet-COD.pth", "BiRefNet-COD"),
    ],
)
def test_variant_for_path_recognises_known_files(path, expected):
    variant = variant_for_path(pathlib.Path(path))
    assert variant is not None and variant.name == expected
    assert variant_for_path(path) == variant  # a str works too


@pytest.mark.parametrize(
    "path",
    ["models/model.safetensors", "my_finetune.safetensors", "models/BiRefNet_HRX.safetensors",
     "/hf/hub/models--someone--BiRefNet_HR/snapshots/x/weights.safetensors"],
)  # fmt: skip
def test_variant_for_path_returns_none_for_unknown_files(path):
    assert variant_for_path(path) is None
