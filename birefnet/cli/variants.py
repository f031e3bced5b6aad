"""``python -m birefnet variants``: the registry of released checkpoints as a table."""

from __future__ import annotations

import argparse
from typing import Any

from ..weights.registry import VARIANTS


def add_variants_parser(commands: Any) -> None:
    """Add the ``variants`` sub-command to the ``python -m birefnet`` sub-parsers."""
    variants = commands.add_parser("variants", help="list the known checkpoints")
    variants.add_argument("--markdown", action="store_true", help="print a Markdown table")
    variants.set_defaults(handler=run_variants)


def _variant_rows() -> list[list[str]]:
    rows = [["name", "backbone", "input (WxH)", "task", "patch order", "stored", "licence"]]
    for v in VARIANTS.values():
        size = "dynamic" if v.resolution is None else f"{v.resolution[0]}x{v.resolution[1]}"
        rows.append([v.name, v.backbone, size, v.task, v.patch_order, v.stored_dtype, v.license])
    return rows


def format_variant_table(markdown: bool = False) -> str:
    """The registry as a text table (or a Markdown table)."""
    rows = _variant_rows()
    if markdown:
        lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
        lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
        return "\n".join(lines)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def run_variants(args: argparse.Namespace) -> int:
    print(format_variant_table(markdown=args.markdown))
    return 0
