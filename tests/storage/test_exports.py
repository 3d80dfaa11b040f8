"""The public API keeps what it promised, and importing it stays light."""

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


def test_the_promised_names_stay_exported() -> None:
    # that __all__ is exactly the public names is checked for every package in
    # tests/test_exports.py
    assert set(cirrus.storage.__all__) >= PROMISED


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
