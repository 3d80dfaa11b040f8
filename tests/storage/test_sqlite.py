"""The SQLite object store: URLs that name a file, objects as rows, shared by processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cirrus.errors import NotFound, StorageError
from cirrus.storage import BadURL, join_url, open_store, read_bytes, split_url, write_bytes


def test_the_url_names_the_file_and_a_key_prefix(tmp_path: Path) -> None:
    root = f"sqlite://{tmp_path.as_posix()}/store.db/runs"
    url = join_url(root, "sentinel-2/workflow-cog/S2B_1", "input.json")
    write_bytes(url, b"{}")
    assert read_bytes(url) == b"{}"
    assert split_url(url) == (
        f"sqlite://{tmp_path.as_posix()}/store.db",
        "runs/sentinel-2/workflow-cog/S2B_1/input.json",
    )
    assert list(open_store(f"sqlite://{tmp_path.as_posix()}/store.db").list("runs")) == [
        "runs/sentinel-2/workflow-cog/S2B_1/input.json"
    ]


def test_a_relative_file_is_found_from_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write_bytes("sqlite://sub/objects.sqlite/a.json", b"1")
    assert (tmp_path / "sub" / "objects.sqlite").is_file()
    assert read_bytes(f"sqlite://{tmp_path.as_posix()}/sub/objects.sqlite/a.json") == b"1"


def test_a_url_without_a_database_file_says_how_to_write_one(tmp_path: Path) -> None:
    with pytest.raises(BadURL, match=r"names no database file: use sqlite:///path/to/payloads\.db"):
        open_store(f"sqlite://{tmp_path.as_posix()}/folder")


def test_objects_are_rows_of_one_file_not_files(tmp_path: Path) -> None:
    store = open_store(f"sqlite://{tmp_path.as_posix()}/payloads.db")
    store.put_many([(f"executions/p{n}/run-1/input.json", b"{}") for n in range(200)])
    assert {path.name for path in tmp_path.iterdir()} <= {
        "payloads.db",
        "payloads.db-wal",
        "payloads.db-shm",
    }
    assert len(list(store.list("executions"))) == 200


def test_another_process_reads_what_was_written(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path.as_posix()}/payloads.db/k/input.json"
    write_bytes(url, b'{"written": "here"}')
    code = "import sys; from cirrus.storage import read_bytes as r; print(r(sys.argv[1]).decode())"
    shown = subprocess.run(
        [sys.executable, "-c", code, url], capture_output=True, text=True, check=True
    )
    assert shown.stdout.strip() == '{"written": "here"}'


def test_a_file_that_is_not_a_database_is_named(tmp_path: Path) -> None:
    (tmp_path / "notes.db").write_text("just some text, long enough to look like a header " * 4)
    with pytest.raises(StorageError, match=r"notes\.db is not a SQLite payload store"):
        open_store(f"sqlite://{tmp_path.as_posix()}/notes.db").get("a.json")


def test_reading_a_store_that_does_not_exist_creates_nothing(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path.as_posix()}/typo/payloads.db"
    with pytest.raises(NotFound, match="no store at"):
        read_bytes(f"{url}/executions/a/input.json")
    assert list(open_store(url).list("executions")) == []
    assert not (tmp_path / "typo").exists()


def test_a_store_closed_by_with_opens_again(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path.as_posix()}/payloads.db"
    with open_store(url) as store:
        store.put("a.json", b"1")
    assert read_bytes(f"{url}/a.json") == b"1"


def test_a_folder_named_like_a_database_is_part_of_the_path(tmp_path: Path) -> None:
    folder = tmp_path / "archive.db" / "project"
    folder.mkdir(parents=True)
    url = f"sqlite://{folder.as_posix()}/payloads.db/executions/a.json"
    write_bytes(url, b"{}")
    assert split_url(url) == (f"sqlite://{folder.as_posix()}/payloads.db", "executions/a.json")
    assert (folder / "payloads.db").is_file()
