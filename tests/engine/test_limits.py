"""The 256 KiB result limit: the quick marshal bound never calls a large result small."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cirrus.engine.limits import MAX_RESULT_BYTES, result_too_large


def exact(value: Any) -> bool:
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return len(text.encode("utf-8")) > MAX_RESULT_BYTES


@pytest.mark.parametrize(
    "value",
    [
        pytest.param({"x": "a" * (257 * 1024)}, id="one-long-string"),
        pytest.param({"x": "a" * (255 * 1024)}, id="just-under"),
        pytest.param(["\x01" * 50_000], id="escaped-control-characters-over"),
        pytest.param(["\x01" * 40_000], id="escaped-control-characters-under"),
        pytest.param([True] * 60_000, id="booleans-over"),
        pytest.param([None] * 40_000, id="nulls-under"),
        pytest.param({"a": [0.30000000000000004] * 15_000}, id="long-floats-over"),
        pytest.param(["é" * 100_000, "ü" * 40_000], id="two-byte-characters-over"),
        pytest.param([{"k": "v" * 100}] * 3000, id="one-object-many-times-over"),
        pytest.param(("a" * 300_000,), id="a-tuple"),
    ],
)
def test_bound_agrees_with_json(value: Any) -> None:
    assert result_too_large(value) == exact(value)
