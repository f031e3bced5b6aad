"""Ctrl-C in ``cutout`` and ``matte-video``: the first one asks to stop at the next safe point (between
images, between video chunks), the second stops at once."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any


@contextlib.contextmanager
def stop_between_chunks(what: str = "chunk") -> Iterator[Callable[[], None]]:
    """Ctrl-C asks to stop after the current ``what`` (the part done is then finished cleanly); a second
    Ctrl-C stops at once. Yields the check to call at each safe point: it raises KeyboardInterrupt once asked.
    """
    asked = threading.Event()

    def on_sigint(signum: int, frame: Any) -> None:
        if asked.is_set():
            raise KeyboardInterrupt
        asked.set()
        print(f"\nstopping after this {what} (Ctrl-C again to stop at once)", file=sys.stderr)

    def check() -> None:
        if asked.is_set():
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield check
    finally:
        signal.signal(signal.SIGINT, previous)
