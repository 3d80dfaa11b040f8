"""Pick a store backend by URL scheme and keep opened stores for reuse.

The backends are named by dotted path and imported on first use, so ``import
cirrus.storage`` never imports obstore, boto3 or urllib's HTTP machinery::

    store = open_store("s3://bucket/data")      # cirrus.storage.s3:S3Store
    store = open_store("./out")                 # cirrus.storage.local:LocalStore
"""

from __future__ import annotations

import importlib
import os
import threading

from cirrus.errors import StorageError
from cirrus.storage.base import ObjectStore
from cirrus.storage.paths import SCHEMES, parse_root

__all__ = ["BACKENDS", "clear_store_cache", "open_store", "resolve_backend"]

BACKENDS: dict[str, str] = {
    "file": "cirrus.storage.local:LocalStore",
    "s3": "cirrus.storage.s3:S3Store",
    "memory": "cirrus.storage.memory:MemoryStore",
    "sqlite": "cirrus.storage.sqlite:SQLiteStore",
    "http": "cirrus.storage.http:HttpStore",
    "https": "cirrus.storage.http:HttpStore",
}
"""URL scheme to ``module:Class`` of the store that serves it."""

_cache: dict[tuple[str, tuple[tuple[str, str], ...]], ObjectStore] = {}
_cache_lock = threading.Lock()


def resolve_backend(scheme: str) -> type[ObjectStore]:
    """The store class for a URL scheme.

    Raises:
        StorageError: the scheme is unknown (the message lists the valid ones) or its class
            is not an ObjectStore.
    """
    target = BACKENDS.get(scheme)
    if target is None:
        raise StorageError(
            f"no storage backend for scheme {scheme!r}: use one of "
            f"{', '.join(s + '://' for s in SCHEMES)} or a plain local path"
        )
    module_name, _, class_name = target.partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    if not (isinstance(cls, type) and issubclass(cls, ObjectStore)):
        raise StorageError(f"storage backend {target} for {scheme}:// is not an ObjectStore")
    return cls


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
    cls = resolve_backend(parsed.scheme)
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
