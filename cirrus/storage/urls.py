"""Helpers that take full URLs and route each call to a cached store.

Any URL form :func:`~cirrus.storage.open_store` accepts works, and the source and target of a
copy may be on different backends::

    write_json("s3://bucket/executions/a/input.json", payload)
    copy("https://example.com/b04.tif", "file:///data/b04.tif")
    copy_many([(src, dst), ...], max_workers=8, public=True)
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Any

from cirrus.storage.base import ObjectStore
from cirrus.storage.paths import parse_root, split_url
from cirrus.storage.resolver import open_store

__all__ = [
    "copy",
    "copy_many",
    "delete",
    "download",
    "exists",
    "list_urls",
    "read_bytes",
    "read_json",
    "upload",
    "write_bytes",
    "write_json",
]


def _locate(url: str) -> tuple[ObjectStore, str]:
    root, key = split_url(url)
    return open_store(root), key


def read_bytes(url: str) -> bytes:
    """Read a whole object. Raises NotFound when nothing is there."""
    store, key = _locate(url)
    return store.get(key)


def write_bytes(url: str, data: bytes, **put_kwargs: Any) -> None:
    """Write a whole object atomically; ``put_kwargs`` as for :meth:`ObjectStore.put`."""
    store, key = _locate(url)
    store.put(key, data, **put_kwargs)


def read_json(url: str) -> Any:
    """Read and parse a JSON object."""
    store, key = _locate(url)
    return store.get_json(key)


def write_json(url: str, obj: Any, **put_kwargs: Any) -> None:
    """Write ``obj`` as JSON; ``put_kwargs`` as for :meth:`ObjectStore.put`."""
    store, key = _locate(url)
    store.put_json(key, obj, **put_kwargs)


def exists(url: str) -> bool:
    """Whether an object is stored at ``url``."""
    store, key = _locate(url)
    return store.exists(key)


def delete(url: str) -> None:
    """Remove the object at ``url``; a missing one is fine."""
    store, key = _locate(url)
    store.delete(key)


def list_urls(prefix_url: str) -> Iterator[str]:
    """Yield the URLs of every object under a directory-like prefix URL.

    A plain local path yields plain paths; every other form yields URLs of the same scheme.
    """
    store, key = _locate(prefix_url)
    plain = parse_root(prefix_url).scheme == "file" and "://" not in prefix_url
    for each in store.list(key):
        url = store.url_for(each)
        yield os.sep + each.replace("/", os.sep) if plain else url


def copy(src_url: str, dst_url: str, **put_kwargs: Any) -> None:
    """Stream one object from ``src_url`` to ``dst_url``, across backends if need be.

    Memory use stays constant whatever the object size; ``put_kwargs`` (``content_type``,
    ``headers``, ``public``, ``if_absent``) apply to the written object.
    """
    source, src_key = _locate(src_url)
    target, dst_key = _locate(dst_url)
    with source.open_read(src_key) as reader:
        target.put_stream(dst_key, reader, **put_kwargs)


def copy_many(
    pairs: Iterable[tuple[str, str]], *, max_workers: int = 8, **put_kwargs: Any
) -> list[str]:
    """Copy many objects concurrently.

    Args:
        pairs: ``(src_url, dst_url)`` pairs.
        max_workers: copies running at once.
        put_kwargs: as for :func:`copy`, applied to every target.

    Returns:
        The destination URLs, in the order given.

    Raises:
        CirrusError: the first failure in the given order, once every copy has finished.
    """
    from concurrent.futures import ThreadPoolExecutor

    work = list(pairs)
    if not work:
        return []
    with ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(work)))) as pool:
        futures = [pool.submit(copy, src, dst, **put_kwargs) for src, dst in work]
    for future in futures:
        future.result()
    return [dst for _, dst in work]


def download(url: str, local_path: str | os.PathLike[str]) -> None:
    """Stream the object at ``url`` to a local file (makes parent folders)."""
    store, key = _locate(url)
    store.download_file(key, local_path)


def upload(local_path: str | os.PathLike[str], url: str, **put_kwargs: Any) -> None:
    """Stream a local file to ``url``; ``put_kwargs`` as for :meth:`ObjectStore.put`."""
    store, key = _locate(url)
    store.upload_file(local_path, key, **put_kwargs)
