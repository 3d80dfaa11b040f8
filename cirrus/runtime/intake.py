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

from cirrus.errors import PayloadError
from cirrus.runtime.limits import IntakeLimits, parse_payload_text

__all__ = ["Document", "keep_invalid", "read_documents", "unwrap"]


@dataclass(frozen=True)
class Document:
    """One submitted payload, or the reason a piece of input could not be read."""

    payload: dict[str, Any] | None
    error: str | None = None
    raw: str | None = None
    """The text that failed, kept for the invalid-payload record."""
    where: str = ""
    """Where in the input the payload was found (``input line 3``), for messages."""
    text: str | None = None
    """The payload's own JSON text as read (a whole line of ASCII), queued as it is rather
    than encoded again; None: encode ``payload``."""


_DEFAULT_LIMITS = IntakeLimits()


def _parse(text: str, where: str, limits: IntakeLimits = _DEFAULT_LIMITS) -> Document | Any:
    try:
        return parse_payload_text(text, limits, where)
    except PayloadError as err:
        return Document(None, str(err), text)


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
        yield Document(value, where=where)


def _only_message(value: dict[str, Any]) -> bool:
    return "features" not in value and "process" not in value and "url" not in value


def _unwrap_text(text: Any, where: str) -> Iterator[Document]:
    if isinstance(text, dict | list):
        yield from unwrap(text, where)
    elif not isinstance(text, str):
        yield Document(None, f"{where} is missing or not text", None)
    else:
        yield from unwrap(_parse(text, where), where)


class _Oversized(str):
    """A line longer than the payload size limit (only its start is kept)."""

    __slots__ = ()


def _bounded_lines(stream: IO[str], limit: int) -> Iterator[str]:
    """The lines of ``stream``, none held longer than ``limit`` characters.

    A longer line is read to its end in pieces and given as an :class:`_Oversized` holding
    its first characters, so one huge line costs no more memory than the limit.
    """
    while True:
        line = stream.readline(limit + 1)
        if not line:
            return
        if len(line) <= limit or line.endswith("\n"):
            yield line
            continue
        while (rest := stream.readline(1 << 20)) and not rest.endswith("\n"):
            pass  # the rest of the oversized line
        yield _Oversized(line[:1000])


def _next_line(lines: Iterator[str], number: int) -> tuple[str, int]:
    """The next non-blank line and its number; ``("", number)`` at the end."""
    for line in lines:
        number += 1
        if line.strip():
            return line, number
    return "", number


def _is_json_line(line: str) -> bool:
    """Whether ``line`` alone is a JSON object or array (a line of NDJSON)."""
    text = line.strip()
    if isinstance(line, _Oversized) or not text.startswith(("{", "[")):
        return False
    try:
        json.loads(text)
    except (ValueError, RecursionError):
        return False
    return True


def _parse_line(line: str, where: str, limits: IntakeLimits) -> Document | Any:
    if isinstance(line, _Oversized):
        return Document(
            None,
            f"{where} is longer than max_payload_bytes ({limits.max_payload_bytes}): pass "
            'large payloads by {"url": ...} or raise max_payload_bytes in cirrus.yml',
            str(line),
        )
    return _parse(line, where, limits)


def read_documents(
    stream: IO[str], name: str = "input", limits: IntakeLimits | None = None
) -> Iterator[Document]:
    """Read payload documents from a text stream (JSON, JSON array or NDJSON).

    NDJSON is read line by line, so a stream of millions of payloads needs constant
    memory (no line is held past ``max_payload_bytes``), and a bad line is reported without
    stopping the others, the first line included (a truncated first line, say). The input
    is read as one pretty-printed document only when neither its first nor its second line
    is JSON on its own, and then within ``max_payload_bytes`` as a whole. A byte order mark
    before the first line is ignored. Each payload is parsed within ``limits`` (size,
    depth, strict JSON).
    """
    limits = limits or _DEFAULT_LIMITS
    lines = _bounded_lines(stream, limits.max_payload_bytes)
    first, first_number = _next_line(lines, 0)
    if not first:
        return
    if not isinstance(first, _Oversized):
        first = first.removeprefix("\ufeff")
    where = f"{name} line {first_number}"
    parsed = _parse_line(first, where, limits)
    if not isinstance(parsed, Document):
        yield from _with_text(parsed, first, where)
        yield from _lines(lines, name, first_number + 1, limits)
        return
    second, second_number = _next_line(lines, first_number)
    oversized = isinstance(first, _Oversized) or isinstance(second, _Oversized)
    if not second or oversized or _is_json_line(second):
        # NDJSON whose first line is bad: report it, read on
        yield parsed
        if second:
            yield from _lines(iter([second]), name, second_number, limits)
            yield from _lines(lines, name, second_number + 1, limits)
        return
    # neither line is JSON alone: one (pretty-printed) document, within the size limit
    head = first + second
    whole = head + stream.read(max(0, limits.max_payload_bytes - len(head)) + 1)
    document = _parse(whole, name, limits)
    if not isinstance(document, Document):
        yield from unwrap(document, name)
        return
    rest = whole.splitlines(keepends=True)
    if any(_is_json_line(line) for line in rest[2:]):
        # not one document after all: NDJSON whose first two lines are bad
        yield from _lines(iter(rest), name, first_number, limits)
        more = _bounded_lines(stream, limits.max_payload_bytes)
        yield from _lines(more, name, first_number + len(rest), limits)
        return
    yield document


def _lines(lines: Iterable[str], name: str, start: int, limits: IntakeLimits) -> Iterator[Document]:
    for number, line in enumerate(lines, start=start):
        if line.strip():
            where = f"{name} line {number}"
            yield from _with_text(_parse_line(line, where, limits), line, where)


def _with_text(parsed: Document | Any, line: str, where: str) -> Iterator[Document]:
    """The documents of one parsed line; a line that is itself the payload keeps its text.

    Only ASCII text is kept: other text may hold characters the queue cannot store (an
    unpaired surrogate from undecodable input), which encoding escapes.
    """
    for document in unwrap(parsed, where):
        if document.payload is parsed and not isinstance(line, _Oversized) and line.isascii():
            document = Document(parsed, where=document.where, text=line.strip())
        yield document


def keep_invalid(payload_root: str, reason: str | None, body: str | None) -> str:
    """Keep refused input under ``<payload root>/tmp/invalid/`` with the reason; returns the URL."""
    import uuid

    from cirrus.storage import join_url, write_bytes

    url = join_url(payload_root, "tmp", "invalid", f"{uuid.uuid4().hex}.json")
    # ASCII JSON: the body may hold what UTF-8 cannot encode (an unpaired surrogate)
    record = json.dumps({"reason": reason, "body": body})
    write_bytes(url, record.encode(), content_type="application/json")
    return url
