"""The ``python -m birefnet`` argument parser: one sub-command per module (cutout, matte_video, variants)."""

from __future__ import annotations

import argparse

from .cutout import add_cutout_parser
from .matte_video import add_matte_video_parser
from .variants import add_variants_parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m birefnet",
        description="BiRefNet background removal and dichotomous image segmentation.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_cutout_parser(commands)
    add_matte_video_parser(commands)
    add_variants_parser(commands)
    return parser
