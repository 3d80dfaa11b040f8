"""The public API stays complete, and importing it stays light."""

from __future__ import annotations

import subprocess
import sys

import cirrus.storage

PROMISED = {
    "ObjectStore",
    "open_store",
    "read_bytes",
    "write_bytes",
    "read_json",
    "write_json",
    "exists",
    "delete",
    "list_urls",
    "copy",
    "copy_many",
    "download",
    "upload",
    "join_url",
    "split_url",
    "to_https_url",
    "MemoryStore",
    "AlreadyExists",
}


def test_all_lists_every_public_name() -> None:
    public = {
        name
        for name, value in vars(cirrus.storage).items()
        if not name.startswith("_")
        and getattr(value, "__module__", "").startswith("cirrus.storage")
    }
    assert public <= set(cirrus.storage.__all__)
    assert set(cirrus.storage.__all__) >= PROMISED
    for name in cirrus.storage.__all__:
        assert hasattr(cirrus.storage, name)


def test_import_does_not_load_backend_libraries() -> None:
    code = (
        "import sys, cirrus.storage; "
        "print([m for m in ('obstore', 'boto3', 'botocore', 'urllib.request') if m in sys.modules])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_already_exists_is_a_storage_error() -> None:
    from cirrus.errors import StorageError

    assert issubclass(cirrus.storage.AlreadyExists, StorageError)
