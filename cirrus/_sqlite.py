"""One SQLite file shared by threads and processes: connections, WAL mode, transactions.

Each thread gets its own connection, and a forked child opens its own instead of using its
parent's. The file runs in WAL mode with ``synchronous=NORMAL``: a commit survives a killed
process, and readers never wait for the one writer::

    db = SQLiteFile(path, what="payload store")
    with db.transaction() as conn:          # BEGIN IMMEDIATE ... COMMIT
        conn.execute("INSERT ...")
    rows = db.connection().execute("SELECT ...").fetchall()
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cirrus.errors import CirrusError

__all__ = ["SQLiteFile", "error_code"]

_WAIT_CODES = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
"""Primary result codes that mean another connection holds a lock: worth waiting for."""


def error_code(exc: sqlite3.Error) -> int | None:
    """SQLite's primary result code for ``exc`` (``sqlite3.SQLITE_BUSY`` ...), None if unknown.

    sqlite3 sets ``sqlite_errorcode`` to the extended code (``SQLITE_BUSY_SNAPSHOT`` is
    ``SQLITE_BUSY | 2 << 8``); its low byte is the primary code. Errors sqlite3 raises on
    its own (a closed connection) carry no code.
    """
    code = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else int(code) & 0xFF


class SQLiteFile:
    """Connections to one SQLite file in WAL mode, one per thread and process.

    Args:
        path: the file; missing parent folders are created.
        what: what the file holds, for error messages ("payload store").
        error: the error class raised for SQLite failures.
        timeout: seconds a write waits for another writer before failing.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        what: str,
        error: type[CirrusError],
        timeout: float = 30.0,
    ) -> None:
        self.path = Path(path).expanduser().absolute()
        self.what = what
        self.error = error
        self.timeout = timeout
        self._local = threading.local()
        # (process, thread, connection) of every connection opened, to close them later
        self._connections: list[tuple[int, threading.Thread, sqlite3.Connection]] = []
        self._lock = threading.Lock()
        self._closed = False

    def create_folder(self) -> None:
        """Make the file's folder (opening the file makes the file itself)."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise self.error(
                f"cannot create the folder of {self.what} {self.path}: {exc.strerror}; "
                "choose a writable location"
            ) from exc

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (opened on first use)."""
        if self._closed:
            raise self.error(f"{self.what} {self.path} is closed: open it again")
        local = self._local
        pid = os.getpid()
        conn: sqlite3.Connection | None = getattr(local, "conn", None)
        if conn is None or local.pid != pid:
            with self.errors():
                conn = self._connect()
            local.conn, local.pid = conn, pid
            with self._lock:
                self._connections.append((pid, threading.current_thread(), conn))
                # threads come and go (a worker pool per run): their connections go with them
                ended = [c for p, t, c in self._connections if p == pid and not t.is_alive()]
                self._connections = [e for e in self._connections if e[2] not in ended]
            for old in ended:
                old.close()
        return conn

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            mode = self._wal(conn)
            if str(mode).lower() != "wal":
                raise self.error(
                    f"{self.what} {self.path} cannot use WAL mode (got {mode!r}): "
                    "put it on a local file system"
                )
            conn.execute("PRAGMA synchronous = NORMAL")
        except BaseException:
            conn.close()
            raise
        return conn

    def _wal(self, conn: sqlite3.Connection) -> str:
        # a new file being switched by another process at the same time answers "locked"
        # at once, without SQLite's own wait
        return str(self._while_locked(conn, "PRAGMA journal_mode = WAL").fetchone()[0])

    def _while_locked(self, conn: sqlite3.Connection, statement: str) -> sqlite3.Cursor:
        """Run ``statement``, trying again in steps of at most 5 ms while the file is locked.

        SQLite's own wait sleeps in growing steps of up to 100 ms, so a writer often sleeps
        long after the lock came free; with several processes sharing a file that idles
        them.
        """
        deadline = time.monotonic() + self.timeout
        pause = 0.0002
        while True:
            try:
                return conn.execute(statement)
            except sqlite3.OperationalError as exc:
                if error_code(exc) not in _WAIT_CODES or time.monotonic() + pause > deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 2, 0.005)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction, committed when the block ends."""
        with self.errors():
            conn = self.connection()
            self._begin(conn)
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def _begin(self, conn: sqlite3.Connection) -> None:
        """``BEGIN IMMEDIATE`` with this module's wait instead of SQLite's (see
        :meth:`_while_locked`); other statements keep SQLite's wait (in WAL they rarely meet
        a lock)."""
        conn.execute("PRAGMA busy_timeout = 0")
        try:
            self._while_locked(conn, "BEGIN IMMEDIATE")
        finally:
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")

    @contextmanager
    def errors(self) -> Iterator[None]:
        """Turn sqlite3 errors into ``self.error`` naming the file and the fix."""
        try:
            yield
        except sqlite3.OperationalError as exc:
            raise self.error(self._explain(exc)) from exc
        except sqlite3.DatabaseError as exc:
            if error_code(exc) == sqlite3.SQLITE_NOTADB:
                raise self.error(
                    f"{self.path} is not a SQLite {self.what}: point its URL at a new file "
                    f"or at an existing cirrus {self.what}"
                ) from exc
            raise self.error(f"{self.what} {self.path} is damaged: {exc}") from exc
        except sqlite3.Error as exc:
            raise self.error(f"{self.what} {self.path}: {exc}") from exc

    def _explain(self, exc: sqlite3.OperationalError) -> str:
        code = error_code(exc)
        if code in _WAIT_CODES:
            return (
                f"{self.what} {self.path} stayed locked by another writer for more than "
                f"{self.timeout:g}s: retry, or give it a longer timeout"
            )
        if code == sqlite3.SQLITE_READONLY:
            return (
                f"{self.what} {self.path} is read-only: make the file and its folder "
                "writable (SQLite also writes -wal and -shm files beside it)"
            )
        if code == sqlite3.SQLITE_CANTOPEN:
            return f"cannot open {self.what} {self.path}: check that the folder is writable"
        return f"{self.what} {self.path}: {exc}"

    def close(self, *, reopen: bool = False) -> None:
        """Close every connection this process opened (a parent's are left to the parent).

        Args:
            reopen: allow use afterwards (new connections are opened as needed).
        """
        self._closed = not reopen
        pid = os.getpid()
        with self._lock:
            connections, self._connections = self._connections, []
        for owner, _, conn in connections:
            if owner == pid:
                conn.close()
        self._local = threading.local()
