"""Turning what users and feeders submit into payload documents.

Accepted input: one JSON payload, a JSON array of payloads, NDJSON (one per line),
``{"url": ...}`` references, and the envelopes payloads arrive in on AWS: SQS events
(``Records[].body``), SQS ``ReceiveMessage`` results (``Messages[].Body``), SNS
notifications (``Message``, with or without ``"Type"``), SNS events
(``Records[].Sns.Message``) and Batch task outputs (``{"Parameters": {"url_out": ...}}`` read
as ``{"url": <url_out>}``), nested freely.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

__all__ = ["Document", "keep_invalid", "read_documents", "unwrap"]


@dataclass(frozen=True)
class Document:
    """One submitted payload, or the reason a piece of input could not be read."""

    payload: dict[str, Any] | None
    error: str | None = None
    raw: str | None = None
    """The text that failed, kept for the invalid-payload record."""


def _parse(text: str, where: str) -> Document | Any:
    try:
        return json.loads(text)
    except ValueError as err:
        return Document(None, f"{where} is not JSON ({err})", text)


def unwrap(value: Any, where: str = "input") -> Iterator[Document]:
    """Yield the payloads inside ``value``, opening any envelopes."""
    if isinstance(value, Document):
        yield value
    elif isinstance(value, list):
        for index, element in enumerate(value):
            yield from unwrap(element, f"{where}[{index}]")
    elif not isinstance(value, dict):
        yield Document(None, f"{where} is a {type(value).__name__}, not a payload object", None)
    elif "Records" in value and isinstance(value["Records"], list):
        for index, record in enumerate(value["Records"]):
            inner = f"{where}.Records[{index}]"
            if isinstance(record, dict) and isinstance(record.get("Sns"), dict):
                yield from _unwrap_text(record["Sns"].get("Message"), f"{inner}.Sns.Message")
            elif isinstance(record, dict) and "body" in record:
                yield from _unwrap_text(record["body"], f"{inner}.body")
            else:
                yield Document(None, f"{inner} has no SQS body or SNS message", json.dumps(record))
    elif "Messages" in value and isinstance(value["Messages"], list):
        for index, message in enumerate(value["Messages"]):
            body = message.get("Body") if isinstance(message, dict) else None
            yield from _unwrap_text(body, f"{where}.Messages[{index}].Body")
    elif "Message" in value and (value.get("Type") == "Notification" or _only_message(value)):
        # an SNS notification; an SQS body of just {"Message": ...} is opened the same way,
        # as Cirrus does
        yield from _unwrap_text(value["Message"], f"{where}.Message")
    elif (
        "url" not in value
        and isinstance(value.get("Parameters"), dict)
        and isinstance(value["Parameters"].get("url_out"), str)
    ):
        # the output of a Batch task state: its payload is what the job wrote to url_out
        yield Document({"url": value["Parameters"]["url_out"]})
    elif ("Body" in value or "body" in value) and "features" not in value:
        yield from _unwrap_text(value.get("Body", value.get("body")), f"{where}.Body")
    else:
        yield Document(value)


def _only_message(value: dict[str, Any]) -> bool:
    return "features" not in value and "process" not in value and "url" not in value


def _unwrap_text(text: Any, where: str) -> Iterator[Document]:
    if isinstance(text, dict | list):
        yield from unwrap(text, where)
    elif not isinstance(text, str):
        yield Document(None, f"{where} is missing or not text", None)
    else:
        yield from unwrap(_parse(text, where), where)


def read_documents(stream: IO[str], name: str = "input") -> Iterator[Document]:
    """Read payload documents from a text stream (JSON, JSON array or NDJSON).

    NDJSON is read line by line, so a stream of millions of payloads needs constant
    memory, and a bad line is reported without stopping the others.
    """
    first = ""
    for line in stream:
        if line.strip():
            first = line
            break
    if not first:
        return
    parsed = _parse(first, f"{name} line 1")
    if not isinstance(parsed, Document):
        yield from unwrap(parsed, f"{name} line 1")
        yield from _lines(stream, name, start=2)
        return
    # not one JSON value per line: the whole input is a single (pretty-printed) document
    rest = first + stream.read()
    yield from unwrap(_parse(rest, name), name)


def _lines(lines: Iterable[str], name: str, start: int) -> Iterator[Document]:
    for number, line in enumerate(lines, start=start):
        if line.strip():
            yield from unwrap(_parse(line, f"{name} line {number}"), f"{name} line {number}")


def keep_invalid(payload_root: str, reason: str | None, body: str | None) -> str:
    """Keep refused input under ``<payload root>/tmp/invalid/`` with the reason; returns the URL."""
    import uuid

    from cirrus.storage import join_url, write_json

    url = join_url(payload_root, "tmp", "invalid", f"{uuid.uuid4().hex}.json")
    write_json(url, {"reason": reason, "body": body})
    return url
