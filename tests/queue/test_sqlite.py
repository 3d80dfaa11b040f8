"""SQLite-only queue behaviour: the file persists, and its errors name the file and the fix."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from cirrus.errors import StateError
from cirrus.queue import SQLiteQueue, open_queue


def test_sqlite_queue_survives_reopening(tmp_path: Path) -> None:
    with open_queue(str(tmp_path / "q.db")) as first:
        first.send_many(["kept"])
    with open_queue(f"sqlite://{tmp_path / 'q.db'}") as second:
        assert [m.body for m in second.receive(1, visibility_seconds=1)] == ["kept"]


def test_a_relative_sqlite_queue_url_is_relative_to_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    queue = open_queue("sqlite://.cirrus/queue.db")
    try:
        assert isinstance(queue, SQLiteQueue)
        assert queue.path == tmp_path / ".cirrus" / "queue.db"
    finally:
        queue.close()


def test_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("just some text, long enough to look like a header" * 20)
    with pytest.raises(StateError, match=f"{path} is not a SQLite work queue"):
        SQLiteQueue(path)


def test_a_lock_held_beyond_the_timeout_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "queue.db"
    with SQLiteQueue(path, timeout=0.2) as queue:
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(StateError, match=f"{path} stayed locked.*0.2s"):
                queue.send_many(["a"])
            assert queue.counts() == (0, 0)  # readers are not blocked by the writer
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        queue.send_many(["a"])
        assert queue.counts() == (1, 0)
