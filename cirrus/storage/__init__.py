"""URL-addressed object storage: local paths, ``file://``, ``s3://``, ``memory://``, ``http(s)://``.

Use the URL helpers for one-off reads and writes, or open a store for many calls under a
root; either way a key built from payload content cannot leave its root::

    from cirrus.storage import join_url, open_store, read_json, write_json

    url = join_url("s3://bucket/data", payload_id, "input.json")
    write_json(url, payload)                 # atomic; if_absent=True for conditional puts
    assert read_json(url) == payload

    with open_store("file:///tmp/catalog") as store:
        store.put("a/b.json", b"{}", content_type="application/json")
        print(list(store.list("a")))         # ['a/b.json']

Backends load on first use, so importing this package stays cheap.
"""

from __future__ import annotations

from cirrus.storage.base import ObjectStore
from cirrus.storage.errors import AlreadyExists, BadURL
from cirrus.storage.memory import MemoryStore
from cirrus.storage.paths import check_key, join_url, split_url, to_https_url
from cirrus.storage.references import load_payload, read_reference
from cirrus.storage.resolver import clear_store_cache, open_store
from cirrus.storage.urls import (
    copy,
    copy_many,
    delete,
    download,
    exists,
    list_urls,
    read_bytes,
    read_json,
    upload,
    write_bytes,
    write_json,
)

__all__ = [
    "AlreadyExists",
    "BadURL",
    "MemoryStore",
    "ObjectStore",
    "check_key",
    "clear_store_cache",
    "copy",
    "copy_many",
    "delete",
    "download",
    "exists",
    "join_url",
    "list_urls",
    "load_payload",
    "open_store",
    "read_bytes",
    "read_json",
    "read_reference",
    "split_url",
    "to_https_url",
    "upload",
    "write_bytes",
    "write_json",
]
