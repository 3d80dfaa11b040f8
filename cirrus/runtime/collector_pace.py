"""The garbage collector's pace while a worker runs.

A worker makes and drops many small containers for every payload (payload dicts, records,
events), nearly all of them freed at once by reference counting. With CPython's default
first-generation threshold (700 net allocations) the collector still starts every few
payloads, and each pass walks the batch in flight. While a worker runs, the thresholds are
raised to :data:`WORKER_THRESHOLDS`: over 10,000 payloads on two processes the collector's
time falls from about 210 ms to 30-40 ms, and CPU per payload by about 3 %
(``benchmarks/pipeline_throughput.py``). Memory is unaffected: a cycle waits a little longer.

The process's own thresholds come back when its last running worker ends (a collector
switched off, threshold 0, is left off)::

    with fewer_collections():
        worker.run()
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["WORKER_THRESHOLDS", "fewer_collections"]

WORKER_THRESHOLDS = (10_000, 20, 20)
"""The collector's thresholds (see :func:`gc.set_threshold`) while a worker runs."""

_lock = threading.Lock()
_running = 0
_saved: tuple[int, int, int] | None = None


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Raise the collector's thresholds while the block runs (see the module docstring)."""
    global _running, _saved
    with _lock:
        if _running == 0:
            first, second, third = gc.get_threshold()
            if first > 0:
                _saved = (first, second, third)
                raised = zip((first, second, third), WORKER_THRESHOLDS, strict=True)
                gc.set_threshold(*(max(own, worker) for own, worker in raised))
        _running += 1
    try:
        yield
    finally:
        with _lock:
            _running -= 1
            if _running == 0 and _saved is not None:
                gc.set_threshold(*_saved)
                _saved = None
