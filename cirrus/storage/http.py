"""Read-only store over ``http://`` and ``https://`` URLs (standard library only).

Assets are often published at https URLs; this store reads and streams them so ``copy``
can move them into a local or S3 store. Writing, deleting and listing are refused.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import BinaryIO, cast

from cirrus.errors import NotFound, StorageError
from cirrus.storage.base import ObjectStore, Source
from cirrus.storage.paths import parse_root

__all__ = ["HttpStore", "map_http_errors"]

TIMEOUT = 60.0
"""Seconds to wait for a server before giving up."""


@contextmanager
def map_http_errors(url: str) -> Iterator[None]:
    """Turn urllib errors into cirrus errors naming ``url``; 404 and 410 are NotFound."""
    try:
        yield
    except urllib.error.HTTPError as exc:
        if exc.code in (404, 410):
            raise NotFound(f"no object at {url} (HTTP {exc.code})") from exc
        raise StorageError(f"cannot read {url}: HTTP {exc.code} {exc.reason}") from exc
    except urllib.error.URLError as exc:
        raise StorageError(f"cannot reach {url}: {exc.reason}") from exc
    except OSError as exc:
        raise StorageError(f"cannot read {url}: {exc}") from exc


class HttpStore(ObjectStore):
    """Objects below an ``http(s)://host/prefix`` URL, read-only.

    Args:
        url: ``http://host[:port][/prefix]`` or ``https://...``.
    """

    read_only = True

    def __init__(self, url: str) -> None:
        parsed = parse_root(url)
        if parsed.scheme not in ("http", "https"):
            raise ValueError(f"HttpStore needs an http(s):// URL, not {url!r}")
        self.url = parsed.url

    def _open(self, key: str, method: str = "GET") -> BinaryIO:
        url = self._url_for(key)
        request = urllib.request.Request(url, method=method)  # noqa: S310 - scheme checked
        with map_http_errors(url):
            return cast(BinaryIO, urllib.request.urlopen(request, timeout=TIMEOUT))  # noqa: S310

    def _get(self, key: str) -> bytes:
        with self._open(key) as response, map_http_errors(self._url_for(key)):
            return response.read()

    def _open_read(self, key: str) -> BinaryIO:
        return self._open(key)

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
        self._check_writable()

    def _exists(self, key: str) -> bool:
        try:
            self._open(key, "HEAD").close()
        except NotFound:
            return False
        return True

    def _delete(self, key: str) -> None:
        self._check_writable()

    def _list(self, prefix: str) -> Iterator[str]:
        raise StorageError(
            f"cannot list {self.url}: http(s) URLs have no listing; list a local, file:// or "
            "s3:// location instead"
        )

    def _url_for(self, key: str) -> str:
        return f"{self.url}/{key}"
