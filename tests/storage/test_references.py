"""Payload references: ``{"url": ...}`` is read from storage, anything else passes through."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from cirrus.errors import PayloadError
from cirrus.storage import load_payload, write_bytes, write_json

PAYLOAD: dict[str, Any] = {"type": "FeatureCollection", "features": [], "process": []}


@pytest.fixture
def root() -> str:
    return f"memory://{uuid.uuid4().hex}"


def test_a_payload_is_returned_as_it_is() -> None:
    assert load_payload(PAYLOAD) is PAYLOAD


@pytest.mark.parametrize("key", ["url", "href"])
def test_a_reference_is_read_and_a_reference_to_a_reference_followed(root: str, key: str) -> None:
    write_json(f"{root}/payload.json", PAYLOAD)
    write_json(f"{root}/pointer.json", {"url": f"{root}/payload.json"})
    assert load_payload({key: f"{root}/pointer.json"}) == PAYLOAD


@pytest.mark.parametrize(
    ("stored", "message"),
    [
        pytest.param(b"not json", "is not JSON", id="not-json"),
        pytest.param(b"[1, 2]", "must be a JSON object, not list", id="not-an-object"),
    ],
)
def test_a_reference_to_something_else_is_refused(root: str, stored: bytes, message: str) -> None:
    write_bytes(f"{root}/stored.json", stored)
    with pytest.raises(PayloadError, match=message):
        load_payload({"url": f"{root}/stored.json"})


def test_a_reference_that_refers_back_to_itself_is_refused(root: str) -> None:
    write_json(f"{root}/loop.json", {"url": f"{root}/loop.json"})
    with pytest.raises(PayloadError, match="refers back to itself"):
        load_payload({"url": f"{root}/loop.json"})


def test_a_url_that_is_not_a_string_is_refused() -> None:
    with pytest.raises(PayloadError, match="must be a string URL"):
        load_payload({"url": 7})
