"""Memory habits of the bulk paths."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while a bulk job builds many small objects.

    An import of 100,000 rows creates a few million dicts, tuples and dataclasses, none in a
    reference cycle; each full collection the allocations trigger walks all of them again
    (about a fifth of a 100,000-row preview or commit, bench/import_xlsx.py). Reference
    counting still frees everything as usual. Nested or concurrent uses only re-enable the
    collector if it was enabled when they began."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
