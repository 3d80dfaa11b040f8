"""Local filesystem specifics: atomic replace, no leftovers, parent folders."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from cirrus.errors import StorageError
from cirrus.storage import list_urls, open_store, write_bytes


class _FailingReader(io.RawIOBase):
    """Gives some bytes, then fails, as a dropped connection would."""

    def __init__(self) -> None:
        self.sent = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        if self.sent:
            raise OSError("connection reset")
        self.sent = True
        buffer[:4] = b"half"
        return 4


def test_failed_write_keeps_old_object_and_leaves_no_temp_file(tmp_path: Path) -> None:
    store = open_store(str(tmp_path))
    store.put("a/obj.bin", b"old")
    with pytest.raises(StorageError, match="connection reset"):
        store.put_stream("a/obj.bin", _FailingReader())
    assert store.get("a/obj.bin") == b"old"
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["obj.bin"]


def test_failed_new_write_creates_nothing(tmp_path: Path) -> None:
    store = open_store(tmp_path.as_uri())
    with pytest.raises(StorageError):
        store.put_stream("b/new.bin", _FailingReader())
    assert not store.exists("b/new.bin")
    assert list(store.list()) == []


def test_writes_create_parent_folders_and_files_land_where_expected(tmp_path: Path) -> None:
    write_bytes(str(tmp_path / "x" / "y" / "z.json"), b"{}")
    assert (tmp_path / "x" / "y" / "z.json").read_bytes() == b"{}"


def test_list_urls_of_a_plain_path_gives_plain_paths(tmp_path: Path) -> None:
    write_bytes(str(tmp_path / "d" / "1.json"), b"1")
    assert list(list_urls(str(tmp_path / "d"))) == [str(tmp_path / "d" / "1.json")]
    assert list(list_urls((tmp_path / "d").as_uri())) == [(tmp_path / "d" / "1.json").as_uri()]


def test_file_urls_with_spaces_round_trip(tmp_path: Path) -> None:
    folder = tmp_path / "with space"
    store = open_store(folder.as_uri())
    store.put("item one.json", b"1")
    assert (folder / "item one.json").read_bytes() == b"1"
    assert store.url_for("item one.json") == (folder / "item one.json").as_uri()


def test_writing_under_a_file_is_a_storage_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_bytes(b"x")
    store = open_store(str(tmp_path))
    with pytest.raises(StorageError, match="file/child"):
        store.put("file/child", b"y")


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_permission_denied_is_storage_error(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(StorageError, match="locked"):
            open_store(str(tmp_path)).put("locked/a", b"x")
    finally:
        locked.chmod(0o700)
