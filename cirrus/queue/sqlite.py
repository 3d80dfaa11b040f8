"""A work queue in a SQLite file: the local counterpart of the SQS process queue.

Several threads and processes share one file (WAL mode). Times are wall-clock seconds,
since several processes share the file::

    with SQLiteQueue("project/.cirrus/queue.db", max_receives=3) as queue:
        queue.send_many(['{"type": "FeatureCollection", ...}'])

A queue file in a folder this process cannot write (a read-only project) is opened for
reading: its counts and dead letters can be read, and a send or receive says why it cannot
be done.

Dead letters live in a second table of the same file, ``dead_letters``. A message crossing
the receive limit moves there in the transaction of the receive that finds it, so it is
never delivered again nor lost. The limit belongs to whoever opens the file (an argument,
or ``sqlite:///path/queue.db?max_receives=3``), not to the file: open it with the same
limit everywhere.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Collection, Sequence
from contextlib import AbstractContextManager
from pathlib import Path

from cirrus._sqlite import SQLiteFile
from cirrus.errors import StateError
from cirrus.queue.base import (
    DEDUPLICATION_SECONDS,
    DEFAULT_MAX_RECEIVES,
    DeadLetter,
    Message,
    WorkQueue,
    check_limit,
    new_receipt,
)

__all__ = ["SQLiteQueue"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    body TEXT NOT NULL,
    visible_at REAL NOT NULL,
    receipt TEXT NOT NULL DEFAULT '',
    receive_count INTEGER NOT NULL DEFAULT 0,
    owner TEXT NOT NULL DEFAULT '',
    first_received REAL NOT NULL DEFAULT 0,
    last_received REAL NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS messages_visible ON messages (visible_at, id);
CREATE TABLE IF NOT EXISTS sent_keys (
    key TEXT PRIMARY KEY,
    sent_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY,
    body TEXT NOT NULL,
    receive_count INTEGER NOT NULL,
    first_received REAL NOT NULL,
    last_received REAL NOT NULL,
    reason TEXT,
    dead_at REAL NOT NULL
);
"""
_ADDED_COLUMNS = {  # columns a queue made by an earlier version lacks
    "owner": "TEXT NOT NULL DEFAULT ''",
    "last_received": "REAL NOT NULL DEFAULT 0",
}
_VISIBLE = (
    "SELECT id, body, receive_count, first_received FROM messages "
    "WHERE visible_at <= ? ORDER BY visible_at, id LIMIT ?"
)
_BURY = (
    "INSERT OR REPLACE INTO dead_letters "
    "(id, body, receive_count, first_received, last_received, reason, dead_at) "
    "SELECT id, body, receive_count, first_received, last_received, ?, ? FROM messages "
)


class SQLiteQueue(WorkQueue):
    """A queue in a SQLite file (WAL mode), safe for several threads and processes.

    Times are wall-clock seconds, since several processes share the file.

    Args:
        path: the file; missing parent folders are created.
        timeout: seconds a write waits for another writer before failing.
        max_receives: receives after which an undeleted message moves to the dead letters
            (None: no limit).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        timeout: float = 30.0,
        max_receives: int | None = DEFAULT_MAX_RECEIVES,
    ) -> None:
        self._max_receives = check_limit(max_receives)
        self._file = SQLiteFile(path, what="work queue", error=StateError, timeout=timeout)
        self.path = self._file.path
        if not self._file.writable():
            # a read-only project: counts and dead letters can be read, sending and
            # receiving say why they cannot be done
            self._file = SQLiteFile(
                path, what="work queue", error=StateError, timeout=timeout, read_only=True
            )
            return
        self._file.create_folder()
        with self._file.errors():
            connection = self._file.connection()
            connection.executescript(_SCHEMA)  # runs in its own transaction
            columns = {row[1] for row in connection.execute("PRAGMA table_info(messages)")}
            for column, definition in _ADDED_COLUMNS.items():
                if column not in columns:
                    connection.execute(f"ALTER TABLE messages ADD COLUMN {column} {definition}")

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
        limit = self._max_receives
        with self._transaction() as connection:
            rows = connection.execute(_VISIBLE, (now, max_messages)).fetchall()
            if limit is not None:
                # messages past the limit go to the dead letters in this transaction; then
                # the batch is filled from what stays
                while dead := [(row[0],) for row in rows if row[2] >= limit]:
                    connection.executemany(_BURY + "WHERE id = ?", [(None, now, *d) for d in dead])
                    connection.executemany("DELETE FROM messages WHERE id = ?", dead)
                    rows = connection.execute(_VISIBLE, (now, max_messages)).fetchall()
            received = [
                Message(str(row[0]), row[1], new_receipt(), row[2] + 1, row[3] or now)
                for row in rows
            ]
            visible_at = now + visibility_seconds
            connection.executemany(
                "UPDATE messages SET visible_at = ?, receipt = ?, receive_count = ?, owner = ?, "
                "first_received = ?, last_received = ? WHERE id = ?",
                [
                    (
                        visible_at,
                        m.receipt,
                        m.receive_count,
                        owner,
                        m.first_received_at,
                        now,
                        row[0],
                    )
                    for m, row in zip(received, rows, strict=True)
                ],
            )
        return received

    def take(self, body: str, *, visibility_seconds: float, owner: str = "") -> Message:
        now = time.time()
        receipt = new_receipt()
        with self._transaction() as connection:
            cursor = connection.execute(
                "INSERT INTO messages (body, visible_at, receipt, receive_count, owner, "
                "first_received, last_received) VALUES (?, ?, ?, 1, ?, ?, ?)",
                (body, now + visibility_seconds, receipt, owner, now, now),
            )
            message_id = int(cursor.lastrowid or 0)
        return Message(str(message_id), body, receipt, 1, now)

    def delete_many(self, messages: Sequence[Message]) -> None:
        if not messages:
            return
        with self._transaction() as connection:
            connection.executemany(
                "DELETE FROM messages WHERE id = ? AND receipt = ?", _receipts(messages)
            )

    def hide(self, messages: Sequence[Message], seconds: float) -> None:
        if not messages:
            return
        until = time.time() + seconds
        with self._transaction() as connection:
            connection.executemany(
                "UPDATE messages SET visible_at = ? WHERE id = ? AND receipt = ?",
                [(until, *pair) for pair in _receipts(messages)],
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

    def release(self, owner: str, *, running: Collection[str] | None = None) -> int:
        now = time.time()
        with self._transaction() as connection:
            held = [
                row[0]
                for row in connection.execute(
                    "SELECT id FROM messages WHERE owner = ? AND visible_at > ?", (owner, now)
                )
            ]
            if running is not None:
                kept = {row_id for row_id in map(_row_id, running) if row_id is not None}
                connection.executemany(
                    "UPDATE messages SET receive_count = max(receive_count - 1, 0) WHERE id = ?",
                    [(row_id,) for row_id in held if row_id not in kept],
                )
            visible = [(now, row_id) for row_id in held]
            connection.executemany("UPDATE messages SET visible_at = ? WHERE id = ?", visible)
            return len(held)

    def dead_letter(self, messages: Sequence[Message], reason: str) -> int:
        if not messages:
            return 0
        now = time.time()
        pairs = _receipts(messages)
        with self._transaction() as connection:
            connection.executemany(
                _BURY + "WHERE id = ? AND receipt = ?", [(reason, now, *pair) for pair in pairs]
            )
            cursor = connection.executemany(
                "DELETE FROM messages WHERE id = ? AND receipt = ?", pairs
            )
            return int(cursor.rowcount)

    def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        rows = self._connection().execute(
            "SELECT id, body, receive_count, first_received, last_received, reason "
            "FROM dead_letters ORDER BY dead_at, id LIMIT ?",
            (max(0, limit),),
        )
        return [
            DeadLetter(str(row[0]), row[1], row[2], row[3], row[4] or None, row[5]) for row in rows
        ]

    def dead_letter_count(self) -> int:
        row = self._connection().execute("SELECT COUNT(*) FROM dead_letters").fetchone()
        return int(row[0])

    def redrive(self, ids: Collection[str] | None = None) -> int:
        now = time.time()
        move = (
            "INSERT INTO messages (body, visible_at) SELECT body, ? FROM dead_letters {where} "
            "ORDER BY dead_at, id"
        )
        with self._transaction() as connection:
            if ids is None:
                connection.execute(move.format(where=""), (now,))
                return int(connection.execute("DELETE FROM dead_letters").rowcount)
            chosen = [(row_id,) for row_id in {_row_id(i) for i in ids} if row_id is not None]
            connection.executemany(move.format(where="WHERE id = ?"), [(now, *c) for c in chosen])
            cursor = connection.executemany("DELETE FROM dead_letters WHERE id = ?", chosen)
            return int(cursor.rowcount)

    def close(self) -> None:
        self._file.close()


def _row_id(message_id: str) -> int | None:
    """The row of a message id (None for an id no row of this queue has)."""
    return int(message_id) if message_id.isdigit() else None


def _receipts(messages: Sequence[Message]) -> list[tuple[int, str]]:
    """``(row, receipt)`` of each message (an id of no row matches nothing)."""
    return [(_row_id(m.id) or -1, m.receipt) for m in messages]
