"""Pick a store backend by URL scheme and keep opened stores for reuse.

The scheme picks the class by the rule state databases and work queues share
(:mod:`cirrus._backends`): any case, a plain path is a local folder or file, an unknown
scheme lists the valid ones. The backends are named by dotted path and imported on first
use, so ``import cirrus.storage`` never imports obstore, boto3 or urllib's HTTP machinery::

    store = open_store("s3://bucket/data")      # cirrus.storage.s3:S3Store
    store = open_store("./out")                 # cirrus.storage.local:LocalStore
"""

from __future__ import annotations

import os
import threading

from cirrus._backends import BackendKind, Scheme, resolve
from cirrus.storage.base import ObjectStore
from cirrus.storage.errors import BadURL
from cirrus.storage.paths import parse_root

__all__ = ["STORE_BACKENDS", "clear_store_cache", "open_store"]

STORE_BACKENDS: BackendKind[ObjectStore] = BackendKind(
    "store",
    ObjectStore,
    schemes={
        "file": Scheme("cirrus.storage.local:LocalStore", "file:///abs/path"),
        "s3": Scheme("cirrus.storage.s3:S3Store", "s3://bucket/prefix"),
        "memory": Scheme("cirrus.storage.memory:MemoryStore", "memory://name/prefix"),
        "sqlite": Scheme("cirrus.storage.sqlite:SQLiteStore", "sqlite:///abs/path/payloads.db"),
        "http": Scheme("cirrus.storage.http:HttpStore", "http://host/prefix"),
        "https": Scheme("cirrus.storage.http:HttpStore", "https://host/prefix"),
    },
    error=BadURL,
    # Any plain path is a local folder or file: a key such as ``scene.sqlite`` is data, and
    # ``join_url`` keeps a plain root plain, so ``x.db`` cannot mean a SQLite store here.
    path_scheme="file",
)
"""What a storage URL may name (pass it to :func:`cirrus._backends.resolve`).

Store URLs are also parsed by :func:`cirrus.storage.paths.parse_root`, which knows the same
schemes; stores are created with their normalized root URL.
"""

_cache: dict[tuple[str, tuple[tuple[str, str], ...]], ObjectStore] = {}
_cache_lock = threading.Lock()


def _environment(scheme: str) -> tuple[tuple[str, str], ...]:
    # S3 stores read endpoint, region and credentials when made; a change must give a new one.
    if scheme != "s3":
        return ()
    return tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("AWS_")))


def open_store(url: str) -> ObjectStore:
    """Open (or reuse) the store rooted at ``url``.

    Args:
        url: a local path (relative or absolute), ``file:///abs/path``, ``s3://bucket[/prefix]``,
            ``memory://name[/prefix]`` or ``http(s)://host[/prefix]`` (read-only).

    Returns:
        The store; the same object for the same root while the AWS settings are unchanged.

    Raises:
        StorageError: unknown scheme or malformed URL.
    """
    parsed = parse_root(url)
    key = (parsed.url, _environment(parsed.scheme))
    store = _cache.get(key)
    if store is not None:
        return store
    cls = resolve(parsed.url, STORE_BACKENDS).cls
    with _cache_lock:
        store = _cache.get(key)
        if store is None:
            store = cls(parsed.url)  # type: ignore[call-arg]
            _cache[key] = store
    return store


def clear_store_cache() -> None:
    """Close and forget every cached store (tests use this after changing settings)."""
    with _cache_lock:
        stores = list(_cache.values())
        _cache.clear()
    for store in stores:
        store.close()
