"""Read-only http(s) stores against a real http server on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import pytest

from cirrus.errors import NotFound, PathEscapeError, StorageError
from cirrus.storage import copy, download, exists, open_store, read_bytes, read_json, write_bytes


def test_reads_and_streams(http_root: tuple[str, Path], tmp_path: Path) -> None:
    base, folder = http_root
    (folder / "sub").mkdir()
    (folder / "sub" / "item.json").write_text('{"id": "a"}')
    assert read_json(f"{base}/sub/item.json") == {"id": "a"}
    store = open_store(f"{base}/sub")
    assert store.get("item.json") == b'{"id": "a"}'
    with store.open_read("item.json") as reader:
        assert reader.read(3) == b'{"i'
    download(f"{base}/sub/item.json", tmp_path / "dl.json")
    assert (tmp_path / "dl.json").read_text() == '{"id": "a"}'


def test_exists_and_not_found(http_root: tuple[str, Path]) -> None:
    base, folder = http_root
    (folder / "here.txt").write_text("x")
    assert exists(f"{base}/here.txt")
    assert not exists(f"{base}/gone.txt")
    with pytest.raises(NotFound, match=r"gone\.txt"):
        read_bytes(f"{base}/gone.txt")


def test_writes_are_refused_with_a_fix(http_root: tuple[str, Path]) -> None:
    base, _ = http_root
    with pytest.raises(StorageError, match=r"read-only.*file://.*s3://"):
        write_bytes(f"{base}/new.txt", b"x")
    store = open_store(base)
    with pytest.raises(StorageError, match="read-only"):
        store.delete("new.txt")
    with pytest.raises(StorageError, match=r"no listing"):
        list(store.list())


def test_unreachable_server_is_storage_error() -> None:
    with pytest.raises(StorageError, match=r"127\.0\.0\.1:9"):
        read_bytes("http://127.0.0.1:9/nothing")


def test_escape_refused(http_root: tuple[str, Path]) -> None:
    base, _ = http_root
    store = open_store(f"{base}/a")
    with pytest.raises(PathEscapeError):
        store.get("../secret")


def test_copy_http_to_local(http_root: tuple[str, Path], tmp_path: Path) -> None:
    base, folder = http_root
    (folder / "b04.tif").write_bytes(b"II*\x00" * 1000)
    copy(f"{base}/b04.tif", (tmp_path / "out" / "b04.tif").as_uri())
    assert (tmp_path / "out" / "b04.tif").read_bytes() == b"II*\x00" * 1000
