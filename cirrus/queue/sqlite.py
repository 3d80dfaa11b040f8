"""A work queue in a SQLite file: the local counterpart of the SQS process queue.

Several threads and processes share one file (WAL mode). Times are wall-clock seconds,
since several processes share the file::

    with SQLiteQueue("project/.cirrus/queue.db") as queue:
        queue.send_many(['{"type": "FeatureCollection", ...}'])
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path

from cirrus._sqlite import SQLiteFile
from cirrus.errors import StateError
from cirrus.queue.base import DEDUPLICATION_SECONDS, Message, WorkQueue

__all__ = ["SQLiteQueue"]

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

    Args:
        path: the file; missing parent folders are created.
        timeout: seconds a write waits for another writer before failing.
    """

    def __init__(self, path: str | Path, *, timeout: float = 30.0) -> None:
        self._file = SQLiteFile(path, what="work queue", error=StateError, timeout=timeout)
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
