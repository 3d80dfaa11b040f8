"""The work queue in front of the pipeline: the local counterpart of the SQS process queue.

Submitting a payload puts a message here; workers receive messages, which stay invisible
to other workers for a visibility timeout, and delete them only when the payload has reached
a decision (terminal state, skip, or invalid). A worker killed at any point therefore loses
nothing: its messages become visible again and another worker picks them up.

    with open_queue("sqlite:///project/.cirrus/queue.db") as queue:
        queue.send_many(['{"type": "FeatureCollection", ...}'])
        for message in queue.receive(10, visibility_seconds=60):
            ...
            queue.delete_many([message])
"""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from cirrus._closing import Closing
from cirrus._sqlite import SQLiteFile
from cirrus.errors import ConfigError, StateError

__all__ = [
    "DEDUPLICATION_SECONDS",
    "MemoryQueue",
    "Message",
    "SQLiteQueue",
    "WorkQueue",
    "open_queue",
]


DEDUPLICATION_SECONDS = 14 * 24 * 3600.0
"""How long a deduplication key is remembered."""


@dataclass(frozen=True)
class Message:
    """One received message."""

    id: int
    body: str
    receipt: str
    """Proof of this receipt; only the latest receiver can delete the message."""
    receive_count: int
    first_received_at: float = 0.0
    """When the message was first received (seconds since the epoch)."""


class WorkQueue(Closing, ABC):
    """A durable queue with visibility timeouts."""

    @abstractmethod
    def send_many(
        self,
        bodies: Sequence[str],
        *,
        delay_seconds: float = 0,
        keys: Sequence[str] | None = None,
    ) -> None:
        """Append messages; they are durable when this returns.

        ``keys`` (one per body) make sending idempotent: a message whose key was sent before
        (within :data:`DEDUPLICATION_SECONDS`) is dropped, even if that one was since deleted.
        """

    @abstractmethod
    def receive(
        self, max_messages: int, *, visibility_seconds: float, owner: str = ""
    ) -> list[Message]:
        """Take up to ``max_messages`` visible messages, hiding them for a while.

        ``owner`` names the receiver, so that its messages can be freed if it dies.
        """

    @abstractmethod
    def take(self, body: str, *, visibility_seconds: float, owner: str = "") -> Message:
        """Add a message that the caller receives at once (to handle it right now).

        It is durable like any other: if the caller dies, it becomes visible to other
        workers after ``visibility_seconds``.
        """

    @abstractmethod
    def delete_many(self, messages: Sequence[Message]) -> None:
        """Remove handled messages (ignored when received again by someone else since)."""

    @abstractmethod
    def hide(self, messages: Sequence[Message], seconds: float) -> None:
        """Keep messages invisible for ``seconds`` more (to look at them again later)."""

    @abstractmethod
    def counts(self) -> tuple[int, int]:
        """``(visible, in flight)`` message counts."""

    @abstractmethod
    def receivers(self) -> set[str]:
        """Owners of the messages in flight."""

    @abstractmethod
    def release(self, owner: str) -> int:
        """Make the in-flight messages of a dead receiver visible again; returns how many."""


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
        self._messages: dict[int, _Entry] = {}
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


_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    body TEXT NOT NULL,
    visible_at REAL NOT NULL,
    receipt TEXT NOT NULL DEFAULT '',
    receive_count INTEGER NOT NULL DEFAULT 0,
    owner TEXT NOT NULL DEFAULT '',
    first_received REAL NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS messages_visible ON messages (visible_at, id);
CREATE TABLE IF NOT EXISTS sent_keys (
    key TEXT PRIMARY KEY,
    sent_at REAL NOT NULL
);
"""


class SQLiteQueue(WorkQueue):
    """A queue in a SQLite file (WAL mode), safe for several threads and processes.

    Times are wall-clock seconds, since several processes share the file.
    """

    def __init__(self, path: str | Path) -> None:
        self._file = SQLiteFile(path, what="work queue", error=StateError)
        self._file.create_folder()
        self.path = self._file.path
        with self._file.errors():
            connection = self._file.connection()
            connection.executescript(_SCHEMA)  # runs in its own transaction
            columns = {row[1] for row in connection.execute("PRAGMA table_info(messages)")}
            if "owner" not in columns:  # a queue made by an earlier version
                connection.execute("ALTER TABLE messages ADD COLUMN owner TEXT NOT NULL DEFAULT ''")

    def _connection(self) -> sqlite3.Connection:
        return self._file.connection()

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return self._file.transaction()

    def send_many(
        self,
        bodies: Sequence[str],
        *,
        delay_seconds: float = 0,
        keys: Sequence[str] | None = None,
    ) -> None:
        now = time.time()
        visible_at = now + delay_seconds
        with self._transaction() as connection:
            if keys is not None:
                connection.execute(
                    "DELETE FROM sent_keys WHERE sent_at < ?", (now - DEDUPLICATION_SECONDS,)
                )
                fresh = []
                for body, key in zip(bodies, keys, strict=True):
                    cursor = connection.execute(
                        "INSERT OR IGNORE INTO sent_keys (key, sent_at) VALUES (?, ?)", (key, now)
                    )
                    if cursor.rowcount:
                        fresh.append(body)
                bodies = fresh
            connection.executemany(
                "INSERT INTO messages (body, visible_at) VALUES (?, ?)",
                [(body, visible_at) for body in bodies],
            )

    def receive(
        self, max_messages: int, *, visibility_seconds: float, owner: str = ""
    ) -> list[Message]:
        now = time.time()
        with self._transaction() as connection:
            rows = connection.execute(
                "SELECT id, body, receive_count, first_received FROM messages "
                "WHERE visible_at <= ? ORDER BY visible_at, id LIMIT ?",
                (now, max_messages),
            ).fetchall()
            received = [
                Message(row[0], row[1], uuid.uuid4().hex, row[2] + 1, row[3] or now) for row in rows
            ]
            connection.executemany(
                "UPDATE messages SET visible_at = ?, receipt = ?, receive_count = ?, owner = ?, "
                "first_received = ? WHERE id = ?",
                [
                    (
                        now + visibility_seconds,
                        m.receipt,
                        m.receive_count,
                        owner,
                        m.first_received_at,
                        m.id,
                    )
                    for m in received
                ],
            )
        return received

    def take(self, body: str, *, visibility_seconds: float, owner: str = "") -> Message:
        now = time.time()
        receipt = uuid.uuid4().hex
        with self._transaction() as connection:
            cursor = connection.execute(
                "INSERT INTO messages (body, visible_at, receipt, receive_count, owner, "
                "first_received) VALUES (?, ?, ?, 1, ?, ?)",
                (body, now + visibility_seconds, receipt, owner, now),
            )
            message_id = int(cursor.lastrowid or 0)
        return Message(message_id, body, receipt, 1, now)

    def delete_many(self, messages: Sequence[Message]) -> None:
        if not messages:
            return
        with self._transaction() as connection:
            connection.executemany(
                "DELETE FROM messages WHERE id = ? AND receipt = ?",
                [(m.id, m.receipt) for m in messages],
            )

    def hide(self, messages: Sequence[Message], seconds: float) -> None:
        if not messages:
            return
        until = time.time() + seconds
        with self._transaction() as connection:
            connection.executemany(
                "UPDATE messages SET visible_at = ? WHERE id = ? AND receipt = ?",
                [(until, m.id, m.receipt) for m in messages],
            )

    def counts(self) -> tuple[int, int]:
        now = time.time()
        row = (
            self._connection()
            .execute("SELECT COALESCE(SUM(visible_at <= ?), 0), COUNT(*) FROM messages", (now,))
            .fetchone()
        )
        return int(row[0]), int(row[1]) - int(row[0])

    def receivers(self) -> set[str]:
        rows = self._connection().execute(
            "SELECT DISTINCT owner FROM messages WHERE visible_at > ? AND owner != ''",
            (time.time(),),
        )
        return {row[0] for row in rows}

    def release(self, owner: str) -> int:
        now = time.time()
        with self._transaction() as connection:
            cursor = connection.execute(
                "UPDATE messages SET visible_at = ? WHERE owner = ? AND visible_at > ?",
                (now, owner, now),
            )
            return int(cursor.rowcount)

    def close(self) -> None:
        self._file.close()


def open_queue(url: str) -> WorkQueue:
    """Open a queue: ``sqlite:///path/queue.db``, a path ending ``.db``, or ``memory://``.

    Raises:
        ConfigError: the URL names no known queue kind.
    """
    if url.startswith("memory:"):
        return MemoryQueue()
    if url.startswith("sqlite://"):
        # sqlite:///abs/queue.db or sqlite://relative/queue.db, as for the state database
        return SQLiteQueue(url.removeprefix("sqlite://"))
    if "://" not in url and url.endswith((".db", ".sqlite")):
        return SQLiteQueue(url)
    raise ConfigError(
        f"unknown work queue {url!r}: use sqlite:///path/queue.db, a .db path, or memory://"
    )
