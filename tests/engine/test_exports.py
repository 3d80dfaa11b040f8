"""The engine's public API is exactly its __all__."""

from __future__ import annotations

import cirrus.engine


def test_all_is_complete_and_importable() -> None:
    public = {name for name in dir(cirrus.engine) if not name.startswith("_")}
    modules = {
        "choice",
        "definition",
        "errors",
        "fanout",
        "intrinsics",
        "jsonata_eval",
        "objects",
        "paths",
        "tasks",
        "integrations",
        "compiler",
        "states",
        "retry",
        "runner",
        "storage_io",
        "transitions",
    }
    assert set(cirrus.engine.__all__) == public - modules - {"annotations"}
    for name in cirrus.engine.__all__:
        assert getattr(cirrus.engine, name) is not None
