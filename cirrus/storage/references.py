"""Payloads passed by reference: ``{"url": ...}`` is read from storage.

A payload too large for a message travels as a reference to where it is stored; whoever
receives it reads it before use::

    from cirrus.storage import load_payload

    data = load_payload({"url": "s3://bucket/executions/a/input.json"})
    payload = Payload.from_dict(data)

The payload model (:mod:`cirrus.payload`) does no I/O: it refuses a reference and names
this function.
"""

from __future__ import annotations

import json
from typing import Any

from cirrus.errors import PayloadError
from cirrus.storage.urls import read_bytes

__all__ = ["load_payload"]


def load_payload(data: Any) -> dict[str, Any]:
    """Resolve a payload reference: ``{"url": ...}`` (or ``{"href": ...}``) is read from storage.

    Anything else is returned as it is. The stored object may itself be a reference.

    Raises:
        PayloadError: the reference is not a string, refers back to itself, or points at
            something that is not a JSON object.
    """
    seen: set[str] = set()
    while isinstance(data, dict) and "features" not in data and ("url" in data or "href" in data):
        url = data.get("url", data.get("href"))
        if not isinstance(url, str):
            raise PayloadError("$.url", "must be a string URL", "e.g. s3://bucket/key.json")
        if url in seen:
            raise PayloadError("$.url", f"refers back to itself ({url})")
        seen.add(url)
        raw = read_bytes(url)
        try:
            data = json.loads(raw)
        except ValueError as err:
            raise PayloadError("$", f"at {url} is not JSON ({err})") from err
    if not isinstance(data, dict):
        raise PayloadError("$", f"must be a JSON object, not {type(data).__name__}")
    return data
