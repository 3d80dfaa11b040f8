"""The pipeline's dead letters: messages set aside after the receive limit, with the reason.

A message that no worker could see through in ``max_receives`` deliveries (``cirrus.yml``,
default 5, as upstream's SQS redrive policy) leaves the work queue for its dead-letter
store, so that it stops costing the payloads behind it. They are listed and counted here,
and moved back into the queue (after a fix) with :func:`redrive`::

    with Pipeline.for_project(project) as pipeline:
        print(dead_letter_count(pipeline.queue))
        for entry in list_dead_letters(pipeline.queue, limit=20):
            print(entry["id"], entry["reason"])
        redrive(pipeline.queue, ["17"])
"""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cirrus.queue import DeadLetter, WorkQueue

__all__ = ["dead_letter_count", "dead_letter_record", "list_dead_letters", "redrive"]


def _time(seconds: float | None) -> str | None:
    if not seconds:
        return None
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def _payload_id(body: str) -> str | None:
    """The payload id a dead letter's body names, when it can be told without reading more."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or "features" not in data:
        return None
    from cirrus.payload import Payload

    try:
        return Payload.from_dict(data, copy_data=False).id
    except Exception:  # noqa: BLE001 - a dead letter may hold anything
        return None


def dead_letter_record(letter: DeadLetter) -> dict[str, Any]:
    """One dead letter as JSON: id (for redrive), payload id, reason, receives, body."""
    return {
        "id": letter.id,
        "payload_id": _payload_id(letter.body),
        "reason": letter.why,
        "receive_count": letter.receive_count,
        "first_received": _time(letter.first_received_at),
        "last_received": _time(letter.last_received_at),
        "body": letter.body,
    }


def dead_letter_count(queue: WorkQueue) -> int:
    """How many messages are in the queue's dead-letter store (for ``cirrus status``)."""
    return queue.dead_letter_count()


def list_dead_letters(queue: WorkQueue, limit: int = 100) -> list[dict[str, Any]]:
    """Up to ``limit`` dead letters, oldest first, as :func:`dead_letter_record` gives them."""
    return [dead_letter_record(letter) for letter in queue.dead_letters(limit)]


def redrive(queue: WorkQueue, ids: Collection[str] | None = None) -> int:
    """Move dead letters (all, or those with ``ids``) back into the queue; returns how many.

    Each comes back as a new message with no receives, to be admitted and run like any
    other (a payload still refused at intake is rejected then, with the reason).
    """
    return queue.redrive(ids)
