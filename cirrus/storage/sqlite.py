"""Objects in one SQLite file: ``sqlite:///abs/path/payloads.db[/prefix]``.

The embedded pipeline's payload store. Every payload leaves at least two small objects
(``executions/<id>/<execution>/input.json`` and ``output.json``); as files, each costs two
new folders and two new files, and file-system metadata is the slowest thing a small
payload does (hundreds of microseconds of kernel time per operation on a virtual disk). As
rows of one file, a whole batch of objects is one transaction. Keys and URLs stay the same
as on S3 or a folder; ``cirrus payload cat URL`` prints any object.

The part of the URL up to the first name ending in ``.db``, ``.sqlite`` or ``.sqlite3`` that
is not a folder is the file; the rest is the prefix of the keys. Reading never creates the
file; the first write does::

    with open_store("sqlite:///proj/.cirrus/payloads.db") as store:
        store.put_many([("executions/a/input.json", b"{}")])
        store.get("executions/a/input.json")
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import BinaryIO

from cirrus._sqlite import SQLiteFile
from cirrus.errors import NotFound, StorageError
from cirrus.storage.attributes import object_attributes
from cirrus.storage.base import ObjectStore, Source, read_all
from cirrus.storage.errors import AlreadyExists
from cirrus.storage.paths import check_key, parse_root

__all__ = ["SQLiteStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    key TEXT PRIMARY KEY,
    body BLOB NOT NULL,
    attributes TEXT
) WITHOUT ROWID
"""
_REPLACE = "INSERT OR REPLACE INTO objects (key, body, attributes) VALUES (?, ?, ?)"
_EXISTS = "SELECT 1 FROM objects WHERE key = ?"


class SQLiteStore(ObjectStore):
    """Objects as rows of a SQLite file (WAL mode), safe for several threads and processes.

    Args:
        url: ``sqlite:///abs/path/file.db`` or ``sqlite:///abs/path/file.db/prefix``.
    """

    def __init__(self, url: str) -> None:
        parsed = parse_root(url)
        if parsed.scheme != "sqlite":
            raise ValueError(f"SQLiteStore needs a sqlite:// URL, not {url!r}")
        self.url = parsed.url
        self._prefix = parsed.prefix + "/" if parsed.prefix else ""
        self._file = SQLiteFile(parsed.base, what="payload store", error=StorageError)
        self._ready = False
        self._making = threading.Lock()

    def _writable(self) -> SQLiteFile:
        """The file, made with its table on the first write (reads never create it)."""
        if not self._ready:
            with self._making:  # one thread makes the file (and switches it to WAL)
                if not self._ready:
                    self._file.create_folder()
                    with self._file.transaction() as conn:
                        conn.execute(_SCHEMA)
                    self._ready = True
        return self._file

    def _readable(self) -> bool:
        """Whether the file exists yet (a store nobody wrote to holds nothing)."""
        if not self._ready and not self._file.path.is_file():
            return False
        if not self._ready:
            if not self._file.writable():
                # a read-only project: reads work, a write says why it cannot be done
                self._file = SQLiteFile(
                    self._file.path, what="payload store", error=StorageError, read_only=True
                )
                self._ready = True
                return True
            self._writable()  # an existing file from an older run may lack the table
        return True

    def put_many(
        self, objects: Sequence[tuple[str, bytes]], *, content_type: str | None = None
    ) -> None:
        """Write several objects in one transaction: all of them are stored, or none."""
        attributes = json.dumps({"Content-Type": content_type}) if content_type else None
        rows = [(self._prefix + check_key(key), bytes(data), attributes) for key, data in objects]
        with self._writable().transaction() as conn:
            conn.executemany(_REPLACE, rows)

    def put_new_many(
        self, objects: Sequence[tuple[str, bytes]], *, content_type: str | None = None
    ) -> list[bool]:
        """Write the objects not stored yet, in one transaction; True for each written."""
        attributes = json.dumps({"Content-Type": content_type}) if content_type else None
        keys = [self._prefix + check_key(key) for key, _ in objects]
        with self._writable().transaction() as conn:  # holds the write lock: check, then write
            present: set[str] = set()
            for start in range(0, len(keys), 500):  # SQLite's limit on parameters
                chunk = keys[start : start + 500]
                marks = ",".join("?" * len(chunk))
                sql = f"SELECT key FROM objects WHERE key IN ({marks})"  # noqa: S608
                present.update(row[0] for row in conn.execute(sql, chunk))
            written = []
            for key in keys:  # a key given twice is written once, the first time
                written.append(key not in present)
                present.add(key)
            rows = [
                (key, bytes(data), attributes)
                for key, (_, data), new in zip(keys, objects, written, strict=True)
                if new
            ]
            conn.executemany(_REPLACE, rows)
        return written

    def attributes(self, key: str) -> dict[str, str]:
        """The attributes (``Content-Type``...) stored with ``key``."""
        stored = self._row("SELECT attributes FROM objects WHERE key = ?", key)[0]
        return dict(json.loads(stored)) if isinstance(stored, str) else {}

    def _row(self, sql: str, key: str) -> tuple[object, ...]:
        if not self._readable():
            raise NotFound(f"no object at {self._url_for(key)} (no store at {self._file.path})")
        with self._file.errors():
            row = self._file.connection().execute(sql, (self._prefix + key,)).fetchone()
        if row is None:
            raise NotFound(f"no object at {self._url_for(key)}")
        return tuple(row)

    def _get(self, key: str) -> bytes:
        body = self._row("SELECT body FROM objects WHERE key = ?", key)[0]
        assert isinstance(body, bytes)
        return body

    def _open_read(self, key: str) -> BinaryIO:
        return io.BytesIO(self._get(key))

    def _put(
        self,
        key: str,
        source: Source,
        *,
        content_type: str | None,
        headers: Mapping[str, str],
        public: bool,
        if_absent: bool,
    ) -> None:
        attributes = object_attributes(headers, content_type=content_type, public=public)
        body = read_all(source)
        stored = json.dumps(attributes.attributes) if attributes.attributes else None
        with self._writable().transaction() as conn:  # holds the write lock: check, then write
            if if_absent and conn.execute(_EXISTS, (self._prefix + key,)).fetchone():
                raise AlreadyExists(f"an object already exists at {self._url_for(key)}")
            conn.execute(_REPLACE, (self._prefix + key, body, stored))

    def _exists(self, key: str) -> bool:
        try:
            self._row(_EXISTS, key)
        except NotFound:
            return False
        return True

    def _delete(self, key: str) -> None:
        if not self._readable():
            return
        with self._file.transaction() as conn:
            conn.execute("DELETE FROM objects WHERE key = ?", (self._prefix + key,))

    def _list(self, prefix: str) -> Iterator[str]:
        start = self._prefix + (prefix + "/" if prefix else "")
        if not self._readable():
            return iter([])
        with self._file.errors():
            if start:
                # every key that starts with `start`: from it up to the same text with its
                # last character raised by one ("a/" .. "a0")
                end = start[:-1] + chr(ord(start[-1]) + 1)
                rows = self._file.connection().execute(
                    "SELECT key FROM objects WHERE key >= ? AND key < ? ORDER BY key",
                    (start, end),
                )
            else:
                rows = self._file.connection().execute("SELECT key FROM objects ORDER BY key")
            keys = [row[0] for row in rows]
        cut = len(self._prefix)
        return iter([key[cut:] for key in keys])

    def _url_for(self, key: str) -> str:
        return f"{self.url}/{key}"

    def close(self) -> None:
        # stores are shared through open_store's cache: a closed one opens again when used
        self._file.close(reopen=True)
