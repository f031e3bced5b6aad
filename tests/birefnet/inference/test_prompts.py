"""Text formats of boxes and points, and the checks of boxes, points and regions against an image."""

import pytest
import torch

from birefnet import (
    BiRefNetError,
    Prompt,
    batch_prompts,
    format_boxes,
    format_points,
    parse_boxes,
    parse_points,
)
from birefnet.inference.prompts import check_points, check_region, clip_box, grow_box, points_box, region_box


def test_boxes_are_read_with_whitespace_and_several_separated_by_semicolons():
    assert parse_boxes(" 10, 20 ,110,220 ;300,40,380,90; ") == ((10, 20, 110, 220), (300, 40, 380, 90))
    assert parse_boxes("") == () and parse_boxes("  ;  ") == ()
    assert parse_boxes("-5,-6,30,40") == ((-5, -6, 30, 40),)  # partly outside: clipped later


@pytest.mark.parametrize("text", ["1,2,3", "1,2,3,4,5", "a,b,c,d", "1.5,2,3,4", "1 2 3 4"])
def test_a_malformed_box_is_an_error_quoting_it(text):
    with pytest.raises(BiRefNetError, match="Cannot read box") as error:
        parse_boxes(f"0,0,5,5; {text}")
    assert repr(text) in str(error.value) and "x0,y0,x1,y1" in str(error.value)


@pytest.mark.parametrize("text", ["50,10,40,20", "10,10,10,20", "0,30,10,20"])
def test_a_box_with_x1_not_past_x0_or_y1_not_past_y0_is_an_error_naming_it(text):
    with pytest.raises(BiRefNetError, match=f"Box {text} is empty"):
        parse_boxes(text)


def test_points_are_positive_unless_marked_minus():
    assert parse_points("10,20; +30,40;- 50 , 60") == (((10, 20), (30, 40)), ((50, 60),))
    assert parse_points("") == ((), ())


@pytest.mark.parametrize("text", ["10", "10,20,30", "x,y", "10,-20", "--1,2", "1;2"])
def test_a_malformed_point_is_an_error_quoting_it(text):
    with pytest.raises(BiRefNetError, match="Cannot read point") as error:
        parse_points(text)
    assert "x,y" in str(error.value) and "-x,y" in str(error.value)


def test_formatting_reads_back_to_the_same_boxes_and_points():
    boxes = ((1, 2, 3, 4), (10, 0, 640, 480))
    assert format_boxes(boxes) == "1,2,3,4;10,0,640,480"
    assert parse_boxes(format_boxes(boxes)) == boxes
    assert format_points([(5, 6)], [(7, 8), (0, 0)]) == "5,6;-7,8;-0,0"
    assert parse_points(format_points([(5, 6)], [(7, 8), (0, 0)])) == (((5, 6),), ((7, 8), (0, 0)))
    assert format_boxes(()) == "" and format_points((), ()) == ""


def test_a_box_partly_outside_is_clipped_and_one_wholly_outside_is_an_error():
    assert clip_box((-5, 10, 50, 500), height=100, width=40) == (0, 10, 40, 100)
    with pytest.raises(BiRefNetError, match=r"Box 40,0,60,10 lies outside the 40x100 image"):
        clip_box((40, 0, 60, 10), height=100, width=40)
    with pytest.raises(BiRefNetError, match="Box 5,5,3,9 is empty"):
        clip_box((5, 5, 3, 9), height=100, width=40)


def test_grow_box_adds_the_margin_and_stays_inside_the_image():
    assert grow_box((10, 20, 30, 40), 5, height=100, width=100) == (5, 15, 35, 45)
    assert grow_box((10, 20, 30, 40), 32, height=50, width=60) == (0, 0, 60, 50)


def test_points_outside_the_image_are_errors_naming_them():
    assert check_points([(0, 0), (39, 99)], height=100, width=40) == ((0, 0), (39, 99))
    with pytest.raises(BiRefNetError, match=r"negative point 40,5 is outside the 40x100 image"):
        check_points([(40, 5)], height=100, width=40, what="negative point")


def test_a_region_of_another_size_or_empty_is_an_error_naming_both_sizes():
    region = torch.zeros(1, 30, 20)
    region[0, 5:9, 3:4] = 0.8
    checked = check_region(region, height=30, width=20)
    assert checked.shape == (30, 20) and region_box(checked) == (3, 5, 4, 9)
    with pytest.raises(BiRefNetError, match=r"region mask is 20x30 but the image is 30x20"):
        check_region(region, height=20, width=30)
    with pytest.raises(BiRefNetError, match="region mask is empty"):
        check_region(torch.full((30, 20), 0.5), height=30, width=20)
    with pytest.raises(BiRefNetError, match="region must be one mask"):
        check_region(torch.ones(2, 30, 20), height=30, width=20)


def test_points_box_is_their_bounding_box_with_exclusive_edges():
    assert points_box([(5, 9), (2, 12), (7, 10)]) == (2, 9, 8, 13)


def test_prompt_is_empty_only_with_nothing_chosen():
    assert Prompt().is_empty()
    assert not Prompt(boxes=((0, 0, 1, 1),)).is_empty()
    assert not Prompt(region=torch.ones(2, 2)).is_empty()
    assert not Prompt(negative_points=((0, 0),)).is_empty()


def test_batch_prompts_gives_region_i_to_image_i_or_one_region_to_all():
    regions = torch.rand(3, 4, 5)
    prompts = batch_prompts(3, boxes=((0, 0, 2, 2),), points=((1, 1),), regions=regions)
    assert [p.boxes for p in prompts] == [((0, 0, 2, 2),)] * 3 and all(p.points == ((1, 1),) for p in prompts)
    assert all(torch.equal(p.region, regions[i]) for i, p in enumerate(prompts))
    shared = batch_prompts(2, regions=regions[:1])
    assert all(torch.equal(p.region, regions[0]) for p in shared)
    assert batch_prompts(2) == [Prompt(), Prompt()]
    with pytest.raises(BiRefNetError, match="3 region masks for 2 images"):
        batch_prompts(2, regions=regions)
