"""`cutout --box/--region/--points/--negative-points/--margin` and `--crop [--crop-margin --aspect --multiple]`.

Most runs use a stand-in model whose mask is the bright pixels of its input (``GreyLogitModel``): the expected
masks are the drawn squares. One run on the tiny random network checks the written mask against
``predict_guided`` itself. Bad input is a one-line error naming the flag, exit code 2, before any work.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from birefnet import Prompt, predict_guided, subject_box
from birefnet.cli import main
from birefnet.cli.crop import BOX_TEXT_KEY
from birefnet.cli.images import image_size, load_region, load_rgb_image
from birefnet.weights.load import load_model
from tests.birefnet.inference.test_detail import GreyLogitModel

SQUARES = {"a": (20, 20, 40, 40), "b": (60, 20, 80, 40), "c": (150, 70, 170, 90)}  # x0, y0, x1, y1
SETTINGS = ["--resolution", "64", "--device", "cpu", "--no-download"]


def three_squares(width: int = 200, height: int = 120) -> Image.Image:
    """Bright squares a, b (near a: inside a's crop) and c (far) on dark grey."""
    pixels = np.full((height, width, 3), 20, dtype=np.uint8)
    for x0, y0, x1, y1 in SQUARES.values():
        pixels[y0:y1, x0:x1] = 235
    return Image.fromarray(pixels)


def square_region(name: str, grow: int = 3, size: tuple[int, int] = (200, 120)) -> Image.Image:
    """A rough painted region: square `name` grown by `grow` px, white on black ("L")."""
    pixels = np.zeros((size[1], size[0]), dtype=np.uint8)
    x0, y0, x1, y1 = SQUARES[name]
    pixels[y0 - grow : y1 + grow, x0 - grow : x1 + grow] = 255
    return Image.fromarray(pixels)


@pytest.fixture
def bright_model(monkeypatch):
    """The CLI loads the stand-in model whatever --model says."""
    model = GreyLogitModel()
    monkeypatch.setattr("birefnet.cli.setup.load", lambda args, device, dtype: model)
    return model


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "photo.png"
    three_squares().save(path)
    return path


def cutout(photo, out, *flags: str) -> int:
    return main(["cutout", str(photo), "--model", "stand-in", "--out", str(out), *SETTINGS, *flags])


def written_mask(path) -> np.ndarray:
    return np.asarray(Image.open(path))


def kept(mask: np.ndarray) -> dict[str, bool]:
    """Per square: True when kept (its inside, 3 px in from the edges, above 0.8), False when removed (exactly 0);
    the edges are soft after the model-size round trip."""
    result = {}
    for name, (x0, y0, x1, y1) in SQUARES.items():
        if mask[y0 + 3 : y1 - 3, x0 + 3 : x1 - 3].min() > 0.8 * 255:
            result[name] = True
        else:
            assert not mask[y0:y1, x0:x1].any(), f"square {name} is neither kept nor removed"
            result[name] = False
    return result


def test_without_object_flags_every_square_is_foreground(bright_model, photo, tmp_path):
    assert cutout(photo, tmp_path / "out") == 0
    assert kept(written_mask(tmp_path / "out" / "photo_mask.png")) == {"a": True, "b": True, "c": True}


def test_region_keeps_its_object_and_removes_the_rest(bright_model, photo, tmp_path):
    square_region("a").save(tmp_path / "region.png")
    assert cutout(photo, tmp_path / "out", "--region", str(tmp_path / "region.png")) == 0
    mask = written_mask(tmp_path / "out" / "photo_mask.png")
    assert kept(mask) == {"a": True, "b": False, "c": False}  # b lies in a's crop but not in the region
    x0, y0, x1, y1 = SQUARES["a"]
    assert not mask[:, x1 + 3 + 32 :].any() and not mask[y1 + 3 + 32 :, :].any()  # 0 outside the grown box


def test_box_with_a_negative_point_and_points_alone(bright_model, photo, tmp_path):
    assert cutout(photo, tmp_path / "box", "--box", "10,10,90,50", "--negative-points", "70,30") == 0
    assert kept(written_mask(tmp_path / "box" / "photo_mask.png")) == {"a": True, "b": False, "c": False}

    two_boxes = ["--box", "10,10,50,50", "--box", "140,60,180,100", "--margin", "0"]
    assert cutout(photo, tmp_path / "two", *two_boxes) == 0
    two = written_mask(tmp_path / "two" / "photo_mask.png")
    assert kept(two) == {"a": True, "b": False, "c": True}  # two objects, combined

    assert cutout(photo, tmp_path / "points", "--points", "30,30", "--margin", "40") == 0
    points = written_mask(tmp_path / "points" / "photo_mask.png")
    assert kept(points) == {"a": True, "b": False, "c": False}  # b is in the crop but holds no point


def test_the_written_mask_is_predict_guided_with_the_flags_settings(tmp_path, tiny_checkpoint):
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 256, (120, 200, 3), dtype=np.uint8))
    image.save(tmp_path / "noise.png")
    args = [
        "cutout",
        str(tmp_path / "noise.png"),
        "--model",
        str(tiny_checkpoint),
        "--out",
        str(tmp_path / "o"),
    ]
    assert main([*args, *SETTINGS, "--box", "30,20,90,70", "--margin", "10"]) == 0

    model = load_model(tiny_checkpoint, patch_order="current")
    expected = predict_guided(model, image, Prompt(boxes=((30, 20, 90, 70),)), 64, margin=10)[0]
    written = torch.from_numpy(written_mask(tmp_path / "o" / "noise_mask.png").astype(np.float32) / 255)
    assert (written - expected).abs().max() <= 1 / 255 + 1e-6
    outside = torch.ones(120, 200, dtype=torch.bool)
    outside[10:80, 20:100] = False
    assert written[~outside].max() > 0 and not written[outside].any()


def test_one_region_for_a_folder_of_images_of_its_size(bright_model, tmp_path, capsys):
    folder = tmp_path / "photos"
    folder.mkdir()
    three_squares().save(folder / "one.png")
    three_squares().save(folder / "two.png")
    square_region("a", grow=12).save(tmp_path / "region.png")
    assert main(["cutout", str(folder), "--model", "m", "--out", str(tmp_path / "o"), *SETTINGS,
                 "--region", str(tmp_path / "region.png")]) == 0  # fmt: skip
    for name in ("one", "two"):
        mask = written_mask(tmp_path / "o" / f"{name}_mask.png")
        assert mask[25:35, 25:35].min() == 255 and not mask[:, 100:].any()

    three_squares(100, 120).save(folder / "small.png")
    code = main(["cutout", str(folder), "--model", "m", "--out", str(tmp_path / "o2"), *SETTINGS,
                 "--region", str(tmp_path / "region.png")])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "small.png (100x120)" in err and "200x120" in err
    assert not (tmp_path / "o2").exists()  # refused before any work


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--box", "10,10,5,5"], "--box '10,10,5,5': Box 10,10,5,5 is empty"),
        (["--box", "1,2,3"], "--box '1,2,3': Cannot read box '1,2,3'"),
        (["--box", "300,10,400,50"], "photo.png (200x120): Box 300,10,400,50 lies outside the 200x120 image"),
        (["--points", "10;20"], "--points '10;20': Cannot read point '10'"),
        (["--points", "500,10"], "point (--points) 500,10 is outside the 200x120 image"),
        (["--negative-points", "5,x"], "--negative-points '5,x': Cannot read point"),
        (["--region", "wrong_size.png"], "region mask is 50x40 but the image is 200x120"),
        (["--region", "empty.png"], "region mask is empty"),
        (["--region", "missing.png"], "--region: cannot read the region mask"),
        (["--box", "1,1,50,50", "--margin", "-1"], "--margin must be 0 or more"),
        (["--margin", "8"], "--margin without --box, --region or --points: add"),
        (
            ["--box", "1,1,50,50", "--detail", "native"],
            "--detail does not combine with --box/--region/--points",
        ),
        (["--aspect", "1:1", "--multiple", "8"], "--aspect, --multiple without --crop: add --crop"),
        (["--crop", "--aspect", "wide"], "--aspect 'wide'"),
        (["--crop", "--multiple", "0"], "--multiple must be at least 1"),
        (["--crop", "--crop-margin", "-2"], "--crop-margin must be 0 or more"),
    ],
)
def test_bad_object_and_crop_flags_are_user_errors(bright_model, photo, tmp_path, capsys, flags, message):
    Image.new("L", (50, 40), 255).save(tmp_path / "wrong_size.png")
    Image.new("L", (200, 120), 100).save(tmp_path / "empty.png")  # all below 0.5
    flags = [str(tmp_path / f) if f.endswith(".png") else f for f in flags]
    assert cutout(photo, tmp_path / "out", *flags) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert message in err
    assert not (tmp_path / "out").exists()


def test_crop_writes_the_subject_box_of_the_asked_aspect_and_multiple(bright_model, tmp_path):
    image = three_squares()
    image.save(tmp_path / "photo.png")
    region = ["--region", str(tmp_path / "region.png")]
    square_region("c").save(tmp_path / "region.png")
    assert cutout(tmp_path / "photo.png", tmp_path / "full", *region) == 0
    crop = ["--crop", "--crop-margin", "4", "--aspect", "3:2", "--multiple", "8"]
    assert cutout(tmp_path / "photo.png", tmp_path / "crop", *region, *crop) == 0

    full = written_mask(tmp_path / "full" / "photo_mask.png")
    cut, mask = Image.open(tmp_path / "crop" / "photo.png"), Image.open(tmp_path / "crop" / "photo_mask.png")
    x0, y0, x1, y1 = box = tuple(int(v) for v in cut.text[BOX_TEXT_KEY].split(","))
    assert mask.text[BOX_TEXT_KEY] == cut.text[BOX_TEXT_KEY]
    assert cut.size == mask.size == (x1 - x0, y1 - y0)
    assert (x1 - x0) % 8 == 0 and (y1 - y0) % 8 == 0
    assert abs((x1 - x0) / (y1 - y0) - 1.5) <= 1.5 * 8 / min(x1 - x0, y1 - y0)  # 3:2 up to the rounding to 8
    assert 0 <= x0 and 0 <= y0 and x1 <= 200 and y1 <= 120
    cx0, cy0, cx1, cy1 = SQUARES["c"]
    assert x0 <= cx0 - 4 and y0 <= cy0 - 4 and x1 >= cx1 + 4 and y1 >= cy1 + 4  # the subject and its margin
    assert box == subject_box(torch.from_numpy(full / 255.0), margin=4, aspect=(3, 2), multiple=8)
    np.testing.assert_array_equal(np.asarray(mask), full[y0:y1, x0:x1])
    np.testing.assert_array_equal(np.asarray(cut)[..., :3], np.asarray(image)[y0:y1, x0:x1])


def test_region_files_luminance_or_alpha(tmp_path):
    grey = np.zeros((6, 8), dtype=np.uint8)
    grey[1:3, 2:5] = 200
    Image.fromarray(grey).save(tmp_path / "grey.png")
    torch.testing.assert_close(load_region(tmp_path / "grey.png"), torch.from_numpy(grey / 255.0).float())

    rgba = np.zeros((6, 8, 4), dtype=np.uint8)
    rgba[..., :3] = 30  # a dark object: its luminance says nothing, its alpha says where it is
    rgba[2:5, 1:4, 3] = 255
    Image.fromarray(rgba).save(tmp_path / "cutout.png")
    torch.testing.assert_close(
        load_region(tmp_path / "cutout.png"), torch.from_numpy(rgba[..., 3] / 255.0).float()
    )

    rgba[..., 3] = 255  # fully opaque: the luminance
    rgba[0, 0, :3] = 255
    Image.fromarray(rgba).save(tmp_path / "opaque.png")
    region = load_region(tmp_path / "opaque.png")
    assert region[0, 0] == 1 and torch.allclose(region[1:, 1:], torch.tensor(30 / 255))


def test_image_size_is_the_upright_size_read_from_the_header(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: shown turned by 90 degrees
    Image.new("RGB", (40, 30)).save(tmp_path / "turned.jpg", exif=exif)
    assert image_size(tmp_path / "turned.jpg") == load_rgb_image(tmp_path / "turned.jpg").size == (30, 40)
    (tmp_path / "broken.png").write_bytes(b"not an image")
    assert image_size(tmp_path / "broken.png") is None


def test_warnings_name_the_image(bright_model, photo, tmp_path, capsys):
    assert cutout(photo, tmp_path / "out", "--points", "30,30;100,100", "--margin", "80") == 0
    err = capsys.readouterr().err
    assert f"warning: {photo}: Point 100,100 of image 0 falls on no object" in err
    assert kept(written_mask(tmp_path / "out" / "photo_mask.png")) == {"a": True, "b": False, "c": False}

    Image.new("RGB", (200, 120)).save(tmp_path / "black.png")  # nothing to cut out
    assert cutout(tmp_path / "black.png", tmp_path / "crop", "--crop") == 0
    assert f"warning: {tmp_path / 'black.png'}: The mask has no pixel above 0.5" in capsys.readouterr().err
    assert Image.open(tmp_path / "crop" / "black.png").size == (200, 120)
