"""A process-wide in-memory store for tests and dry runs: ``memory://name[/prefix]``.

Every store opened on the same name shares one dict, so a test can write through
``write_json("memory://t/a.json", ...)`` and read the object back through any other store
or helper on ``memory://t``.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator, Mapping
from typing import BinaryIO, ClassVar

from cirrus.errors import NotFound
from cirrus.storage.attributes import object_attributes
from cirrus.storage.base import ObjectStore, Source, read_all
from cirrus.storage.errors import AlreadyExists
from cirrus.storage.paths import parse_root

__all__ = ["MemoryStore"]


class _Bucket:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.objects: dict[str, bytes] = {}
        self.attributes: dict[str, dict[str, str]] = {}


class MemoryStore(ObjectStore):
    """Objects kept in a dict shared by every store of the same name; thread-safe.

    Args:
        url: ``memory://name`` or ``memory://name/prefix``.
    """

    _buckets: ClassVar[dict[str, _Bucket]] = {}
    _buckets_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, url: str = "memory://default") -> None:
        parsed = parse_root(url)
        if parsed.scheme != "memory":
            raise ValueError(f"MemoryStore needs a memory:// URL, not {url!r}")
        self.url = parsed.url
        self.name = parsed.base
        self._prefix = parsed.prefix + "/" if parsed.prefix else ""
        with self._buckets_lock:
            self._bucket = self._buckets.setdefault(self.name, _Bucket())

    @classmethod
    def clear(cls, name: str | None = None) -> None:
        """Forget every object of store ``name`` (all stores when ``None``)."""
        with cls._buckets_lock:
            names = [name] if name is not None else list(cls._buckets)
            for each in names:
                bucket = cls._buckets.get(each)
                if bucket is not None:
                    with bucket.lock:
                        bucket.objects.clear()
                        bucket.attributes.clear()

    def attributes(self, key: str) -> dict[str, str]:
        """The attributes (``Content-Type``, ``Cache-Control``...) stored with ``key``."""
        with self._bucket.lock:
            return dict(self._bucket.attributes.get(self._prefix + key, {}))

    def _get(self, key: str) -> bytes:
        with self._bucket.lock:
            data = self._bucket.objects.get(self._prefix + key)
        if data is None:
            raise NotFound(f"no object at {self._url_for(key)}")
        return data

    def _open_read(self, key: str) -> BinaryIO:
        # BytesIO shares the immutable bytes until written to, so this does not copy.
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
        attrs = object_attributes(headers, content_type=content_type, public=public)
        data = read_all(source)
        full = self._prefix + key
        with self._bucket.lock:
            if if_absent and full in self._bucket.objects:
                raise AlreadyExists(f"an object already exists at {self._url_for(key)}")
            self._bucket.objects[full] = data
            self._bucket.attributes[full] = attrs.attributes

    def _exists(self, key: str) -> bool:
        with self._bucket.lock:
            return self._prefix + key in self._bucket.objects

    def _delete(self, key: str) -> None:
        with self._bucket.lock:
            self._bucket.objects.pop(self._prefix + key, None)
            self._bucket.attributes.pop(self._prefix + key, None)

    def _list(self, prefix: str) -> Iterator[str]:
        start = self._prefix + (prefix + "/" if prefix else "")
        with self._bucket.lock:
            keys = sorted(k for k in self._bucket.objects if k.startswith(start))
        cut = len(self._prefix)
        return iter([k[cut:] for k in keys])

    def _url_for(self, key: str) -> str:
        return f"{self.url}/{key}"
