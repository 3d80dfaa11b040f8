"""Task tokens, waiting executions and redrive points, kept in the SQLite state database file.

A ``.waitForTaskToken`` Task state waits on a token; another process answers it
(``cirrus statemachine send-task-success TOKEN``). Both meet in two tables of the state
database's file, beside the state records::

    tokens = open_task_tokens("sqlite:///project/.cirrus/state.db")
    tokens.send_success(token, {"approved": True})

``waiting_executions`` keeps the engine's snapshot of each execution that waits at a
top-level Task state, so a worker that restarts resumes it (it does not run it again).
``redrive_points`` keeps where each failed execution would start again, and whether
``cirrus redrive`` asked for it.
The class follows the engine's ``TaskTokens`` protocol without importing the engine.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from cirrus._backends import Origin, resolve
from cirrus._sqlite import SQLiteFile
from cirrus.errors import CirrusError, StateError, TaskTokenError

__all__ = ["SQLiteTaskTokens", "open_task_tokens"]

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS task_tokens (
        token TEXT PRIMARY KEY,
        execution TEXT NOT NULL,
        state TEXT NOT NULL,
        status TEXT NOT NULL,
        output TEXT,
        error TEXT,
        cause TEXT,
        heartbeat REAL,
        updated REAL NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS waiting_executions (
        execution TEXT PRIMARY KEY,
        payload_id TEXT,
        snapshot TEXT NOT NULL,
        saved REAL NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS redrive_points (
        execution TEXT PRIMARY KEY,
        payload_id TEXT NOT NULL,
        point TEXT NOT NULL,
        requested INTEGER NOT NULL DEFAULT 0,
        saved REAL NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS redrive_points_payload ON redrive_points (payload_id)",
)


class _TokenState:
    """The engine's ``TokenState`` shape (status, output, error, cause, heartbeat)."""

    __slots__ = ("cause", "error", "heartbeat", "output", "status")

    def __init__(
        self,
        status: str,
        output: Any,
        error: str | None,
        cause: str | None,
        heartbeat: float | None,
    ) -> None:
        self.status = status
        self.output = output
        self.error = error
        self.cause = cause
        self.heartbeat = heartbeat


class SQLiteTaskTokens:
    """Waiting tokens, their answers and the snapshots of waiting executions.

    Args:
        path: the SQLite file (the state database's).
    """

    def __init__(self, path: str | Path) -> None:
        self.file = SQLiteFile(path, what="state database", error=StateError)
        self.file.create_folder()
        with self.file.transaction() as conn:
            for statement in _SCHEMA:
                conn.execute(statement)

    # -- the engine's TaskTokens protocol ---------------------------------------------------

    def open(self, token: str, *, execution: str, state: str) -> None:
        with self.file.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO task_tokens (token, execution, state, status, updated) "
                "VALUES (?, ?, ?, 'WAITING', ?)",
                (token, execution, state, time.time()),
            )

    def read(self, token: str) -> _TokenState | None:
        row = (
            self.file.connection()
            .execute(
                "SELECT status, output, error, cause, heartbeat FROM task_tokens WHERE token = ?",
                (token,),
            )
            .fetchone()
        )
        if row is None:
            return None
        status, output, error, cause, heartbeat = row
        return _TokenState(
            status, None if output is None else json.loads(output), error, cause, heartbeat
        )

    def close(self, token: str) -> None:
        with self.file.transaction() as conn:
            conn.execute("DELETE FROM task_tokens WHERE token = ?", (token,))

    def _answer(self, token: str, sql: str, values: tuple[Any, ...]) -> None:
        with self.file.transaction() as conn:
            changed = conn.execute(sql, (*values, time.time(), token)).rowcount
        if changed == 0:
            raise TaskTokenError(
                f"no task waits on token {token!r}: it is unknown or already answered"
            )

    def send_success(self, token: str, output: Any) -> None:
        self._answer(
            token,
            "UPDATE task_tokens SET status = 'SUCCEEDED', output = ?, updated = ? "
            "WHERE token = ? AND status = 'WAITING'",
            (json.dumps(output),),
        )

    def send_failure(self, token: str, error: str | None, cause: str | None) -> None:
        self._answer(
            token,
            "UPDATE task_tokens SET status = 'FAILED', error = ?, cause = ?, updated = ? "
            "WHERE token = ? AND status = 'WAITING'",
            (error, cause),
        )

    def send_heartbeat(self, token: str) -> None:
        now = time.time()
        self._answer(
            token,
            "UPDATE task_tokens SET heartbeat = ?, updated = ? "
            "WHERE token = ? AND status = 'WAITING'",
            (now,),
        )

    # -- waiting executions -----------------------------------------------------------------

    def save_waiting(self, execution: str, payload_id: str | None, snapshot: Any) -> None:
        """Keep the snapshot of an execution that waits for a token."""
        with self.file.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO waiting_executions (execution, payload_id, snapshot, "
                "saved) VALUES (?, ?, ?, ?)",
                (execution, payload_id, json.dumps(snapshot), time.time()),
            )

    def waiting(self, execution: str) -> Any:
        """The snapshot kept for ``execution``, or None."""
        row = (
            self.file.connection()
            .execute("SELECT snapshot FROM waiting_executions WHERE execution = ?", (execution,))
            .fetchone()
        )
        return None if row is None else json.loads(row[0])

    def drop_waiting(self, execution: str) -> None:
        """Forget the snapshot of ``execution`` (it ended)."""
        with self.file.transaction() as conn:
            conn.execute("DELETE FROM waiting_executions WHERE execution = ?", (execution,))

    # -- redrive points -------------------------------------------------------------------

    def save_redrive_point(self, execution: str, payload_id: str, point: Any) -> None:
        """Keep where a failed execution would start again (replaces an older point)."""
        with self.file.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO redrive_points (execution, payload_id, point, requested, "
                "saved) VALUES (?, ?, ?, 0, ?)",
                (execution, payload_id, json.dumps(point), time.time()),
            )

    def redrive_point(self, execution: str) -> tuple[Any, bool] | None:
        """The point kept for ``execution`` and whether a redrive was asked for, or None."""
        row = (
            self.file.connection()
            .execute(
                "SELECT point, requested FROM redrive_points WHERE execution = ?", (execution,)
            )
            .fetchone()
        )
        return None if row is None else (json.loads(row[0]), bool(row[1]))

    def request_redrive(self, execution: str) -> bool:
        """Ask for ``execution`` to be redriven; False when no point is kept for it."""
        with self.file.transaction() as conn:
            changed = conn.execute(
                "UPDATE redrive_points SET requested = 1 WHERE execution = ?", (execution,)
            ).rowcount
        return changed > 0

    def drop_redrive_point(self, execution: str) -> None:
        """Forget the point of ``execution`` (it succeeded after all)."""
        with self.file.transaction() as conn:
            conn.execute("DELETE FROM redrive_points WHERE execution = ?", (execution,))

    def close_file(self) -> None:
        """Close the file's connections."""
        self.file.close()


def open_task_tokens(state_db: str) -> SQLiteTaskTokens | None:
    """The token store in the file of a SQLite state database; None for other backends
    (their executions wait in memory, answered only from the same process)."""
    try:
        found = resolve(state_db, _state_backends())
    except CirrusError:
        return None
    if found.origin is not Origin.BUILTIN or found.scheme != "sqlite":
        return None
    return SQLiteTaskTokens(_sqlite_path(found.location))


def _state_backends() -> Any:
    from cirrus.state.resolve import STATE_BACKENDS

    return STATE_BACKENDS


def _sqlite_path(location: str) -> Path:
    path = Path(location).expanduser()
    return path if path.is_absolute() else Path.cwd() / path
