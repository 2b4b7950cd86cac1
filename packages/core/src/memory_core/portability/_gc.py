"""Pausing the cyclic garbage collector during bulk work (private)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["paused_gc"]


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause cyclic garbage collection for the block (reference counting still frees).

    Bulk import and export build and drop hundreds of thousands of small pydantic objects
    that hold no reference cycles; with the collector running, its repeated scans of the
    growing heap cost more than the work itself (measured: about 2x on import).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
