"""The runtime re-exports the queue classes (``__all__`` itself: ``tests/test_exports.py``)."""

from __future__ import annotations

from cirrus import queue, runtime


def test_the_runtime_still_exports_the_queue_classes() -> None:
    for name in ("MemoryQueue", "Message", "SQLiteQueue", "WorkQueue", "open_queue"):
        assert getattr(runtime, name) is getattr(queue, name)
