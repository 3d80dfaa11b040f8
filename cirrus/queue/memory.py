"""An in-process work queue, for tests and one-shot runs: ``open_queue("memory://")``.

Nothing persists: the messages and dead letters go with the process. The receive limit is
an argument (``MemoryQueue(max_receives=3)``, or ``memory://?max_receives=3``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from cirrus.queue.base import (
    DEFAULT_MAX_RECEIVES,
    DeadLetter,
    Message,
    WorkQueue,
    check_limit,
    new_receipt,
)

__all__ = ["MemoryQueue"]


@dataclass
class _Entry:
    body: str
    visible_at: float
    receipt: str = ""
    receive_count: int = 0
    owner: str = ""
    first_received_at: float = 0.0
    last_received_at: float = 0.0


class MemoryQueue(WorkQueue):
    """An in-process queue, for tests and one-shot runs.

    Args:
        max_receives: receives after which an undeleted message moves to the dead letters
            (None: no limit).
    """

    def __init__(self, *, max_receives: int | None = DEFAULT_MAX_RECEIVES) -> None:
        self._max_receives = check_limit(max_receives)
        self._lock = threading.Lock()
        self._next_id = 1
        self._messages: dict[str, _Entry] = {}
        self._dead: dict[str, DeadLetter] = {}
        self._sent: set[str] = set()

    def _new_id(self) -> str:
        message_id = str(self._next_id)
        self._next_id += 1
        return message_id

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
                self._messages[self._new_id()] = _Entry(body, visible_at)

    def receive(
        self, max_messages: int, *, visibility_seconds: float, owner: str = ""
    ) -> list[Message]:
        now = time.monotonic()
        wall = time.time()
        limit = self._max_receives
        received: list[Message] = []
        dead: list[str] = []
        with self._lock:
            for message_id, entry in self._messages.items():
                if len(received) >= max_messages:
                    break
                if entry.visible_at > now:
                    continue
                if limit is not None and entry.receive_count >= limit:
                    dead.append(message_id)
                    continue
                entry.visible_at = now + visibility_seconds
                entry.receipt = new_receipt()
                entry.receive_count += 1
                entry.owner = owner
                entry.first_received_at = entry.first_received_at or wall
                entry.last_received_at = wall
                received.append(
                    Message(
                        message_id,
                        entry.body,
                        entry.receipt,
                        entry.receive_count,
                        entry.first_received_at,
                    )
                )
            for message_id in dead:
                self._bury(message_id, None)
        return received

    def _bury(self, message_id: str, reason: str | None) -> None:
        entry = self._messages.pop(message_id)
        self._dead[message_id] = DeadLetter(
            message_id,
            entry.body,
            entry.receive_count,
            entry.first_received_at,
            entry.last_received_at or None,
            reason,
        )

    def take(self, body: str, *, visibility_seconds: float, owner: str = "") -> Message:
        wall = time.time()
        entry = _Entry(
            body,
            time.monotonic() + visibility_seconds,
            new_receipt(),
            1,
            owner,
            wall,
            wall,
        )
        with self._lock:
            message_id = self._new_id()
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

    def release(self, owner: str, *, running: Collection[str] | None = None) -> int:
        now = time.monotonic()
        released = 0
        with self._lock:
            for message_id, entry in self._messages.items():
                if entry.owner == owner and entry.visible_at > now:
                    entry.visible_at = now
                    if running is not None and message_id not in running:
                        entry.receive_count = max(0, entry.receive_count - 1)
                    released += 1
        return released

    def dead_letter(self, messages: Sequence[Message], reason: str) -> int:
        moved = 0
        with self._lock:
            for message in messages:
                if self._owned(message) is not None:
                    self._bury(message.id, reason)
                    moved += 1
        return moved

    def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        with self._lock:
            return list(self._dead.values())[: max(0, limit)]

    def dead_letter_count(self) -> int:
        with self._lock:
            return len(self._dead)

    def redrive(self, ids: Collection[str] | None = None) -> int:
        now = time.monotonic()
        with self._lock:
            chosen = list(self._dead) if ids is None else [i for i in self._dead if i in ids]
            for dead_id in chosen:
                letter = self._dead.pop(dead_id)
                self._messages[self._new_id()] = _Entry(letter.body, now)
        return len(chosen)
