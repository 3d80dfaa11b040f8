"""The queue package's public API is exactly its ``__all__``."""

from __future__ import annotations

import inspect

import cirrus.queue


def test_all_is_exactly_the_public_names() -> None:
    public = {
        name
        for name, value in vars(cirrus.queue).items()
        if not name.startswith("_")
        and not inspect.ismodule(value)  # submodules
        and name != "annotations"  # from __future__ import annotations
    }
    assert public == set(cirrus.queue.__all__)


def test_the_runtime_still_exports_the_queue_classes() -> None:
    import cirrus.runtime

    for name in ("MemoryQueue", "Message", "SQLiteQueue", "WorkQueue", "open_queue"):
        assert getattr(cirrus.runtime, name) is getattr(cirrus.queue, name)
