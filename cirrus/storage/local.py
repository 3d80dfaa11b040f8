# os functions on str paths on purpose: pathlib costs too much per small object.
# ruff: noqa: PTH103, PTH105, PTH107, PTH113, PTH118, PTH120
"""Local filesystem store: plain paths and ``file:///abs/path`` URLs.

Writes go to a temporary file beside the target and are moved in place with
:func:`os.replace`, so a crash never leaves a half-written object. There is no fsync per
object: the pipeline writes thousands of small JSON objects per second. Plain Python IO
(``os.open``/``os.write``/``os.replace``) measured faster than obstore's LocalStore for 1 KB
objects (about 30,000 against 22,000 objects/s on tmpfs; on a busy disk both are disk-bound).
"""

from __future__ import annotations

import errno
import itertools
import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import suppress
from typing import TYPE_CHECKING, BinaryIO

from cirrus.errors import NotFound, StorageError
from cirrus.storage.base import CHUNK_SIZE, ObjectStore, Source
from cirrus.storage.errors import AlreadyExists
from cirrus.storage.paths import ParsedRoot, parse_root

if TYPE_CHECKING:
    from types import TracebackType

__all__ = ["LocalStore"]

_TMP_MARK = ".cirrus-tmp-"
_counter = itertools.count()


class map_os_errors:
    """Turn OS errors into cirrus errors naming the key's URL; a missing file is NotFound.

    A class rather than ``@contextmanager``, and the URL is built only on failure: this runs
    for every small object the pipeline writes.
    """

    __slots__ = ("_action", "_key", "_store")

    def __init__(self, store: LocalStore, key: str, action: str) -> None:
        self._store = store
        self._key = key
        self._action = action

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None or not isinstance(exc, OSError):
            return
        url = self._store.url_for(self._key) if self._key else self._store.url
        action = self._action
        if isinstance(exc, FileNotFoundError | IsADirectoryError | NotADirectoryError):
            if action == "read":
                raise NotFound(f"no object at {url}") from exc
        elif isinstance(exc, FileExistsError):
            raise AlreadyExists(f"an object already exists at {url}") from exc
        raise StorageError(f"cannot {action} {url}: {exc.strerror or exc}") from exc


class LocalStore(ObjectStore):
    """Objects as files under a local directory.

    Args:
        url: a plain path (relative or absolute) or a ``file:///abs/path`` URL.
    """

    def __init__(self, url: str) -> None:
        parsed = parse_root(url)
        if parsed.scheme != "file":
            raise ValueError(f"LocalStore needs a local path or file:// URL, not {url!r}")
        self.url = parsed.url
        self._prefix = parsed.prefix
        self.root = "/" + parsed.prefix if not _is_drive(parsed.prefix) else parsed.prefix

    def path_for(self, key: str) -> str:
        """The local filesystem path of ``key`` (key already checked)."""
        if os.sep != "/":
            key = key.replace("/", os.sep)
        return os.path.join(self.root, key)

    def _get(self, key: str) -> bytes:
        with map_os_errors(self, key, "read"), open(self.path_for(key), "rb") as handle:
            return handle.read()

    def _open_read(self, key: str) -> BinaryIO:
        with map_os_errors(self, key, "read"):
            return open(self.path_for(key), "rb")

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
        # content_type, headers and public have no meaning on a local disk.
        path = self.path_for(key)
        tmp = f"{path}{_TMP_MARK}{os.getpid()}-{threading.get_ident()}-{next(_counter)}"
        with map_os_errors(self, key, "write"):
            fd = _create(tmp)
            try:
                try:
                    if isinstance(source, bytes | bytearray | memoryview):
                        _write_all(fd, source)
                    else:
                        while chunk := source.read(CHUNK_SIZE):
                            _write_all(fd, chunk)
                finally:
                    os.close(fd)
                if if_absent:
                    _link_new(tmp, path)
                else:
                    os.replace(tmp, path)
            except BaseException:
                with suppress(OSError):
                    os.remove(tmp)
                raise

    def _exists(self, key: str) -> bool:
        return os.path.isfile(self.path_for(key))

    def _delete(self, key: str) -> None:
        with map_os_errors(self, key, "delete"), suppress(FileNotFoundError):
            os.remove(self.path_for(key))

    def _list(self, prefix: str) -> Iterator[str]:
        top = self.path_for(prefix) if prefix else self.root
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames.sort()
            rel = os.path.relpath(dirpath, self.root).replace(os.sep, "/")
            base = "" if rel == "." else rel + "/"
            for name in sorted(filenames):
                if _TMP_MARK not in name:
                    yield base + name

    def _url_for(self, key: str) -> str:
        return ParsedRoot("file", "/", f"{self._prefix}/{key}".strip("/")).url


def _is_drive(path: str) -> bool:
    return len(path) >= 2 and path[1] == ":"


def _create(path: str) -> int:
    """Open a new file exclusively, making parent folders on first failure."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    try:
        return os.open(path, flags, 0o666)
    except FileNotFoundError:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        return os.open(path, flags, 0o666)


def _write_all(fd: int, data: bytes | bytearray | memoryview) -> None:
    """Write every byte: ``os.write`` may write fewer than given."""
    written = os.write(fd, data)
    if written < len(data):
        view = memoryview(data)
        while written < len(view):
            written += os.write(fd, view[written:])


def _link_new(tmp: str, path: str) -> None:
    """Move ``tmp`` to ``path`` only if ``path`` does not exist, atomically.

    Raises:
        FileExistsError: ``path`` exists (mapped to AlreadyExists by the caller).
    """
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
            raise
        # Filesystems without hard links: exclusive create is still atomic for existence.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "wb") as out, open(tmp, "rb") as src:
            while chunk := src.read(CHUNK_SIZE):
                out.write(chunk)
    os.remove(tmp)
