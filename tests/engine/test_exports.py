"""The engine's public API is exactly its __all__."""

from __future__ import annotations

import types

import cirrus.engine


def test_all_is_complete_and_importable() -> None:
    public = {
        name
        for name, value in vars(cirrus.engine).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert set(cirrus.engine.__all__) == public - {"annotations"}
    for name in cirrus.engine.__all__:
        assert getattr(cirrus.engine, name) is not None
