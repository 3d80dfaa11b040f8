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


def test_dead_letters_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "q.db"
    with SQLiteQueue(path, max_receives=1) as queue:
        queue.send_many(["poison", "bad"])
        first, second = queue.receive(2, visibility_seconds=0)
        queue.dead_letter([second], "why")
        assert queue.receive(5, visibility_seconds=60) == []  # poison crossed the limit
    with open_queue(f"sqlite://{path}") as queue:
        letters = queue.dead_letters()
        assert [(x.id, x.body, x.reason) for x in letters] == [
            (second.id, "bad", "why"),
            (first.id, "poison", None),
        ]
        assert queue.counts() == (0, 0)


def test_a_queue_file_of_an_earlier_version_gains_the_new_columns(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL, "
        "visible_at REAL NOT NULL, receipt TEXT NOT NULL DEFAULT '', "
        "receive_count INTEGER NOT NULL DEFAULT 0, first_received REAL NOT NULL DEFAULT 0);"
        "INSERT INTO messages (body, visible_at) VALUES ('kept', 0);"
    )
    old.commit()
    old.close()
    with SQLiteQueue(path, max_receives=1) as queue:
        (message,) = queue.receive(1, visibility_seconds=0)
        assert (message.body, message.receive_count) == ("kept", 1)
        assert queue.receive(1, visibility_seconds=60) == []
        (letter,) = queue.dead_letters()
        assert letter.last_received_at is not None
        assert letter.last_received_at >= letter.first_received_at > 0


def test_a_receive_fills_its_batch_past_the_dead_letters(tmp_path: Path) -> None:
    with SQLiteQueue(tmp_path / "q.db", max_receives=1) as queue:
        queue.send_many(["m0", "m1", "m2"])
        assert len(queue.receive(3, visibility_seconds=0)) == 3
        queue.send_many(["m3", "m4", "m5"])
        # m0-m2 are past the limit and first in line: moved, and the batch still holds 3
        assert [m.body for m in queue.receive(3, visibility_seconds=60)] == ["m3", "m4", "m5"]
        assert queue.dead_letter_count() == 3


def test_a_message_id_of_another_queue_matches_nothing(tmp_path: Path) -> None:
    from cirrus.queue import Message

    with SQLiteQueue(tmp_path / "q.db") as queue:
        queue.send_many(["a"])
        foreign = Message("not-a-row", "a", "receipt", 1)
        queue.delete_many([foreign])
        queue.hide([foreign], 60)
        assert queue.dead_letter([foreign], "x") == 0
        assert queue.redrive(["not-a-row"]) == 0
        assert queue.counts() == (1, 0)
