"""The :class:`ObjectStore` interface every storage backend implements.

A store is rooted at a URL and addresses objects by keys relative to that root. Backends
implement a handful of underscore methods; the public methods here check every key first
(see :func:`cirrus.storage.paths.check_key`) and add JSON, file and streaming helpers::

    with open_store("file:///tmp/data") as store:
        store.put_json("coll/workflow-x/item1/input.json", payload)
        payload = store.get_json("coll/workflow-x/item1/input.json")
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from typing import IO, TYPE_CHECKING, Any, BinaryIO

from cirrus._closing import Closing
from cirrus.errors import StorageError
from cirrus.storage.paths import check_key, check_prefix

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["CHUNK_SIZE", "ObjectStore", "Source", "read_all"]

CHUNK_SIZE = 1024 * 1024
"""Bytes read at a time when streaming between stores and files."""

Source = bytes | bytearray | memoryview | IO[bytes]
"""What :meth:`ObjectStore.put_stream` accepts: bytes or a binary file-like object."""


def _utf8(text: str) -> bytes:
    try:
        return text.encode()
    except UnicodeEncodeError:  # an unpaired surrogate: write the text as ASCII JSON escapes
        return json.dumps(json.loads(text), separators=(",", ":")).encode()


def read_all(source: Source) -> bytes:
    """The bytes of a :data:`Source` (a file-like one is read to its end, in chunks)."""
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source)
    return b"".join(iter(lambda: bytes(source.read(CHUNK_SIZE)), b""))


class ObjectStore(Closing, ABC):
    """Objects under one root URL, addressed by relative keys.

    Subclasses implement ``_get``, ``_open_read``, ``_put``, ``_exists``, ``_delete``,
    ``_list`` and ``_url_for``; keys reaching them are already checked. A backend that
    holds connections or handles overrides ``close()`` (a no-op here), which ``with``
    calls on exit.

    Attributes:
        url: the normalized root URL, e.g. ``file:///abs/path`` or ``s3://bucket/prefix``.
        read_only: whether writes are refused (http stores).
    """

    url: str
    read_only: bool = False

    # -- what a backend implements ------------------------------------------------------

    @abstractmethod
    def _get(self, key: str) -> bytes:
        """Return the whole object; raise NotFound when missing."""

    @abstractmethod
    def _open_read(self, key: str) -> BinaryIO:
        """Return a readable binary file-like object; raise NotFound when missing."""

    @abstractmethod
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
        """Store ``source`` (bytes or a file-like object read to its end) atomically."""

    @abstractmethod
    def _exists(self, key: str) -> bool:
        """Whether an object is stored at ``key``."""

    @abstractmethod
    def _delete(self, key: str) -> None:
        """Remove ``key``; a missing key is not an error."""

    @abstractmethod
    def _list(self, prefix: str) -> Iterator[str]:
        """Yield keys under the directory-like ``prefix`` (``""`` for all)."""

    @abstractmethod
    def _url_for(self, key: str) -> str:
        """The full URL of ``key``."""

    # -- public API -----------------------------------------------------------------------

    def get(self, key: str) -> bytes:
        """Read a whole object.

        Raises:
            NotFound: nothing is stored at ``key``.
            PathEscapeError: ``key`` would leave the root.
        """
        return self._get(check_key(key))

    def open_read(self, key: str) -> BinaryIO:
        """Open an object for streaming reads (use as a context manager, read in chunks).

        Raises:
            NotFound: nothing is stored at ``key``.
        """
        return self._open_read(check_key(key))

    def iter_bytes(self, key: str, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        """Yield an object's bytes in chunks of at most ``chunk_size``."""
        with self.open_read(key) as reader:
            while chunk := reader.read(chunk_size):
                yield bytes(chunk)

    def put(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
        public: bool = False,
        if_absent: bool = False,
    ) -> None:
        """Write a whole object atomically: readers see the old object or the new one.

        Args:
            key: relative key.
            data: the object's bytes.
            content_type: MIME type, stored where the backend keeps one (S3).
            headers: object attributes such as ``CacheControl`` or ``ContentDisposition``
                (boto3-style names) or ``Cache-Control`` (HTTP names); used on S3.
            public: make the object readable by anyone (S3 ``public-read`` ACL).
            if_absent: only write when nothing is stored at ``key`` yet (atomic).

        Raises:
            AlreadyExists: ``if_absent`` and an object is already there.
            StorageError: the store is read-only or the write failed.
        """
        self.put_stream(
            key,
            data,
            content_type=content_type,
            headers=headers,
            public=public,
            if_absent=if_absent,
        )

    def put_many(
        self, objects: Sequence[tuple[str, bytes]], *, content_type: str | None = None
    ) -> None:
        """Write several ``(key, bytes)`` objects; a backend with transactions does it in one.

        Every key is checked before anything is written.
        """
        for key, _ in objects:
            check_key(key)
        for key, data in objects:
            self.put(key, data, content_type=content_type)

    def put_new_many(
        self, objects: Sequence[tuple[str, bytes]], *, content_type: str | None = None
    ) -> list[bool]:
        """Write each ``(key, bytes)`` object where nothing is stored yet; never replaces.

        Returns:
            Per object, whether it was written (False: an object was already there).
        """
        from cirrus.storage.errors import AlreadyExists

        for key, _ in objects:
            check_key(key)
        written = []
        for key, data in objects:
            try:
                self.put(key, data, content_type=content_type, if_absent=True)
            except AlreadyExists:
                written.append(False)
            else:
                written.append(True)
        return written

    def put_stream(
        self,
        key: str,
        source: Source,
        *,
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
        public: bool = False,
        if_absent: bool = False,
    ) -> None:
        """Like :meth:`put`, but ``source`` may be a binary file-like object read in chunks."""
        check_key(key)
        self._check_writable()
        self._put(
            key,
            source,
            content_type=content_type,
            headers=dict(headers or {}),
            public=public,
            if_absent=if_absent,
        )

    def exists(self, key: str) -> bool:
        """Whether an object is stored at ``key``."""
        return self._exists(check_key(key))

    def delete(self, key: str) -> None:
        """Remove an object; a missing one is fine."""
        check_key(key)
        self._check_writable()
        self._delete(key)

    def list(self, prefix: str = "") -> Iterator[str]:
        """Yield the keys (relative to the root) under a directory-like prefix.

        ``list("a/b")`` yields ``a/b/c.json`` but not ``a/bc.json``.
        """
        return self._list(check_prefix(prefix))

    def url_for(self, key: str) -> str:
        """The full URL of ``key``, e.g. ``s3://bucket/prefix/key``."""
        return self._url_for(check_key(key))

    def get_json(self, key: str) -> Any:
        """Read and parse a JSON object.

        Raises:
            NotFound: nothing is stored at ``key``.
            StorageError: the object is not valid JSON.
        """
        data = self.get(key)
        try:
            return json.loads(data)
        except ValueError as exc:
            raise StorageError(f"{self.url_for(key)} is not valid JSON: {exc}") from exc

    def put_json(
        self,
        key: str,
        obj: Any,
        *,
        content_type: str | None = "application/json",
        headers: Mapping[str, str] | None = None,
        public: bool = False,
        if_absent: bool = False,
    ) -> None:
        """Serialize ``obj`` as compact JSON and :meth:`put` it."""
        try:
            text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        except ValueError as err:  # NaN or Infinity: what no JSON reader accepts
            raise StorageError(
                f"cannot store {self.url_for(key)} as JSON: {err} (NaN and Infinity are not "
                "JSON, RFC 8259): write null or a string instead"
            ) from err
        # an unpaired surrogate cannot be UTF-8: kept as its JSON escape instead
        data = _utf8(text)
        self.put(
            key,
            data,
            content_type=content_type,
            headers=headers,
            public=public,
            if_absent=if_absent,
        )

    def download_file(self, key: str, local_path: str | os.PathLike[str]) -> None:
        """Stream an object to a local file (constant memory; atomic replace; makes parents)."""
        import shutil
        from pathlib import Path

        target = Path(local_path)
        tmp = target.with_name(f"{target.name}.cirrus-tmp-{os.getpid()}-{threading.get_ident()}")
        with self.open_read(key) as reader:
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                with open(tmp, "wb") as out:
                    shutil.copyfileobj(reader, out, CHUNK_SIZE)
                tmp.replace(target)
            except OSError as exc:
                _remove_quietly(tmp)
                raise StorageError(
                    f"cannot download {self.url_for(key)} to {target}: {exc.strerror or exc}"
                ) from exc
            except BaseException:
                _remove_quietly(tmp)
                raise

    def upload_file(
        self,
        local_path: str | os.PathLike[str],
        key: str,
        *,
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
        public: bool = False,
        if_absent: bool = False,
    ) -> None:
        """Stream a local file into the store (constant memory)."""
        source = os.fspath(local_path)
        try:
            handle = open(source, "rb")  # noqa: SIM115 - closed by the with below
        except OSError as exc:
            raise StorageError(f"cannot read {source} to upload: {exc.strerror or exc}") from exc
        with handle:
            self.put_stream(
                key,
                handle,
                content_type=content_type,
                headers=headers,
                public=public,
                if_absent=if_absent,
            )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"

    def _check_writable(self) -> None:
        if self.read_only:
            raise StorageError(
                f"{self.url} is read-only: http(s) URLs can only be read; write to a local "
                "path, file:// or s3:// URL instead"
            )


def _remove_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()
