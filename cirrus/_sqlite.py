"""One SQLite file shared by threads and processes: connections, WAL mode, transactions.

Each thread gets its own connection, and a forked child opens its own instead of using its
parent's. The file runs in WAL mode with ``synchronous=NORMAL``: a commit survives a killed
process, and readers never wait for the one writer::

    db = SQLiteFile(path, what="payload store")
    with db.transaction() as conn:          # BEGIN IMMEDIATE ... COMMIT
        conn.execute("INSERT ...")
    rows = db.connection().execute("SELECT ...").fetchall()

A file whose folder cannot be written (a read-only project, a read-only mount) is opened
with ``read_only=True``: reads work, and a write says why it cannot be done. A file deleted
or replaced while it is open is noticed at the next write (SQLite would go on writing to the
deleted file, and every later change would be lost without a word).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cirrus.errors import CirrusError

__all__ = ["SQLiteFile", "error_code", "is_locked"]

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


def is_locked(exc: BaseException) -> bool:
    """Whether ``exc`` (a cirrus error from :meth:`SQLiteFile.errors`) means the file stayed
    locked by another writer: worth trying again, nothing is wrong with the request."""
    cause = exc.__cause__
    return isinstance(cause, sqlite3.OperationalError) and error_code(cause) in _WAIT_CODES


class SQLiteFile:
    """Connections to one SQLite file in WAL mode, one per thread and process.

    Args:
        path: the file; missing parent folders are created.
        what: what the file holds, for error messages ("payload store").
        error: the error class raised for SQLite failures.
        timeout: seconds a write waits for another writer before failing.
        read_only: open the file for reading only (see :meth:`writable`).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        what: str,
        error: type[CirrusError],
        timeout: float = 30.0,
        read_only: bool = False,
    ) -> None:
        self.path = Path(path).expanduser().absolute()
        self._path_text = str(self.path)
        self.what = what
        self.error = error
        self.timeout = timeout
        self.read_only = read_only
        self._local = threading.local()
        # (process, thread, connection) of every connection opened, to close them later
        self._connections: list[tuple[int, threading.Thread, sqlite3.Connection]] = []
        self._lock = threading.Lock()
        self._closed = False

    def writable(self) -> bool:
        """Whether this process may write the file (and the -wal and -shm files beside it).

        False for an existing file in a folder this process cannot write, or on a read-only
        file system: open such a file with ``read_only=True``.
        """
        folder = self.path.parent
        if not folder.is_dir():
            return True  # made on the first write (or the error then says why not)
        if not os.access(folder, os.W_OK):
            return False
        return not self.path.exists() or os.access(self.path, os.W_OK)

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
            local.conn, local.pid, local.inode = conn, pid, self._inode()
            with self._lock:
                self._connections.append((pid, threading.current_thread(), conn))
                # threads come and go (a worker pool per run): their connections go with them
                ended = [c for p, t, c in self._connections if p == pid and not t.is_alive()]
                self._connections = [e for e in self._connections if e[2] not in ended]
            for old in ended:
                old.close()
        return conn

    def _connect(self) -> sqlite3.Connection:
        if self.read_only:
            return self._connect_read_only()
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

    def _connect_read_only(self) -> sqlite3.Connection:
        """A connection that never writes, even where the -shm file cannot be made.

        ``mode=ro`` still needs the -shm file of a WAL file; where that cannot be made (a
        read-only file system, where nobody can be writing either) the file is read as
        ``immutable``.
        """
        if not self.path.is_file():
            raise self.error(f"there is no {self.what} at {self.path}")
        address = f"file:{urllib.parse.quote(str(self.path))}?mode=ro"
        for options in ("", "&immutable=1"):
            conn = sqlite3.connect(
                address + options,
                uri=True,
                timeout=self.timeout,
                isolation_level=None,
                check_same_thread=False,
            )
            try:
                conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            except sqlite3.OperationalError:
                conn.close()
                if options:
                    raise
                continue
            return conn
        raise AssertionError("unreachable")  # pragma: no cover

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
        """One ``BEGIN IMMEDIATE`` transaction, committed when the block ends.

        Raises:
            CirrusError (``self.error``): the file is open read-only, or was deleted or
                replaced since it was opened, or SQLite failed.
        """
        if self.read_only:
            raise self.error(
                f"{self.what} {self.path} is read-only here (its folder cannot be written): "
                "run this where the project folder is writable"
            )
        with self.errors():
            conn = self.connection()
            self._begin(conn)
            if self._local.inode != self._inode():
                conn.execute("ROLLBACK")
                self._vanished()
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

    def _inode(self) -> tuple[int, int] | None:
        """Which file the path names now (None: none)."""
        try:
            found = os.stat(self._path_text)  # noqa: PTH116 - on every write; Path.stat costs 2x
        except FileNotFoundError:
            return None
        return found.st_dev, found.st_ino

    def _vanished(self) -> None:
        """The file this thread's connection writes is no longer the one at the path."""
        # its connections would go on writing to the deleted (or set-aside) file: refuse,
        # rather than lose every later change without a word
        now = "was deleted" if self._inode() is None else "was replaced by another file"
        raise self.error(
            f"{self.what} {self.path} {now} while in use: nothing more is written to it; "
            f"restore it, or remove {self.path.name}-wal and {self.path.name}-shm beside it "
            "to start afresh, and run again"
        )

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
