"""Command line: ``python -m birefnet cutout ...`` (background removal on files), ``matte-video`` (videos of any
length) and ``variants`` (the known checkpoints).

Errors a user can fix (BiRefNetError) print one line to stderr and exit with code 2; Ctrl-C exits with 130.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ..errors import BiRefNetError
from .parser import build_parser

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 2 user error, 130 interrupted)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "handler", None) is None:
        parser.print_help(sys.stderr)
        return EXIT_USER_ERROR
    try:
        return args.handler(args)
    except BiRefNetError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


__all__ = ["EXIT_INTERRUPTED", "EXIT_USER_ERROR", "build_parser", "main"]
