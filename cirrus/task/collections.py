"""Assigning output items to collections by rule."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from cirrus.errors import PayloadError

__all__ = ["assign_collection", "jsonpath_matches"]


@lru_cache(maxsize=256)
def _compiled(expression: str) -> Any:
    from jsonpath_ng.ext.parser import parse

    try:
        return parse(expression)
    except Exception as err:
        raise PayloadError(
            "collection_matchers", f"has an invalid JSONPath {expression!r} ({err})"
        ) from err


def jsonpath_matches(item: Mapping[str, Any], expression: str) -> bool:
    """Whether a JSONPath filter applied to ``[item]`` selects the item."""
    return len(_compiled(expression).find([item])) == 1


def assign_collection(
    item: dict[str, Any], matchers: list[dict[str, Any]], legacy: Mapping[str, str]
) -> None:
    """Set ``item["collection"]`` from the first matching rule; leave it when none matches.

    ``matchers`` are ``{"type": "jsonpath", "pattern": ..., "collection_name": ...}`` or
    ``{"type": "catch_all", "collection_name": ...}``; ``legacy`` maps collection name to
    a JSONPath expression (the old ``upload_options.collections``).
    """
    for matcher in matchers:
        kind = matcher.get("type", "jsonpath")
        if kind == "catch_all" or jsonpath_matches(item, matcher["pattern"]):
            item["collection"] = matcher["collection_name"]
            return
    for name, expression in legacy.items():
        if jsonpath_matches(item, expression):
            item["collection"] = name
            return
