"""An in-process work queue, for tests and one-shot runs: ``open_queue("memory://")``.

Nothing persists: the messages go with the process.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from cirrus.queue.base import Message, WorkQueue

__all__ = ["MemoryQueue"]


@dataclass
class _Entry:
    body: str
    visible_at: float
    receipt: str = ""
    receive_count: int = 0
    owner: str = ""
    first_received_at: float = 0.0


class MemoryQueue(WorkQueue):
    """An in-process queue, for tests and one-shot runs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next_id = 1
        self._messages: dict[int | str, _Entry] = {}
        self._sent: set[str] = set()

    def send_many(
        self,
        bodies: Sequence[str],
        *,
        delay_seconds: float = 0,
        keys: Sequence[str] | None = None,
    ) -> None:
        visible_at = time.monotonic() + delay_seconds
        with self._lock:
            for index, body in enumerate(bodies):
                if keys is not None:
                    if keys[index] in self._sent:
                        continue
                    self._sent.add(keys[index])
                self._messages[self._next_id] = _Entry(body, visible_at)
                self._next_id += 1

    def receive(
        self, max_messages: int, *, visibility_seconds: float, owner: str = ""
    ) -> list[Message]:
        now = time.monotonic()
        received: list[Message] = []
        with self._lock:
            for message_id, entry in self._messages.items():
                if len(received) >= max_messages:
                    break
                if entry.visible_at <= now:
                    entry.visible_at = now + visibility_seconds
                    entry.receipt = uuid.uuid4().hex
                    entry.receive_count += 1
                    entry.owner = owner
                    entry.first_received_at = entry.first_received_at or time.time()
                    received.append(
                        Message(
                            message_id,
                            entry.body,
                            entry.receipt,
                            entry.receive_count,
                            entry.first_received_at,
                        )
                    )
        return received

    def take(self, body: str, *, visibility_seconds: float, owner: str = "") -> Message:
        entry = _Entry(
            body,
            time.monotonic() + visibility_seconds,
            uuid.uuid4().hex,
            1,
            owner,
            time.time(),
        )
        with self._lock:
            message_id = self._next_id
            self._next_id += 1
            self._messages[message_id] = entry
        return Message(message_id, body, entry.receipt, 1, entry.first_received_at)

    def _owned(self, message: Message) -> _Entry | None:
        entry = self._messages.get(message.id)
        return entry if entry is not None and entry.receipt == message.receipt else None

    def delete_many(self, messages: Sequence[Message]) -> None:
        with self._lock:
            for message in messages:
                if self._owned(message) is not None:
                    del self._messages[message.id]

    def hide(self, messages: Sequence[Message], seconds: float) -> None:
        until = time.monotonic() + seconds
        with self._lock:
            for message in messages:
                entry = self._owned(message)
                if entry is not None:
                    entry.visible_at = until

    def counts(self) -> tuple[int, int]:
        now = time.monotonic()
        with self._lock:
            visible = sum(1 for entry in self._messages.values() if entry.visible_at <= now)
            return visible, len(self._messages) - visible

    def receivers(self) -> set[str]:
        now = time.monotonic()
        with self._lock:
            return {e.owner for e in self._messages.values() if e.visible_at > now and e.owner}

    def release(self, owner: str) -> int:
        now = time.monotonic()
        released = 0
        with self._lock:
            for entry in self._messages.values():
                if entry.owner == owner and entry.visible_at > now:
                    entry.visible_at = now
                    released += 1
        return released
