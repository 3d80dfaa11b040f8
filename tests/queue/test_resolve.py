"""open_queue: picking a queue backend from a URL, a path or a class path."""

from __future__ import annotations

from pathlib import Path

import pytest

from cirrus.errors import ConfigError
from cirrus.queue import MemoryQueue, SQLiteQueue, open_queue


@pytest.mark.parametrize("url", ["memory://", "MEMORY://", "memory", " memory:// "])
def test_memory(url: str) -> None:
    with open_queue(url) as queue:
        assert isinstance(queue, MemoryQueue)


@pytest.mark.parametrize(
    "form", ["sqlite://{path}", "SQLite://{path}", "{path}"], ids=["url", "any-case", "path"]
)
@pytest.mark.parametrize("name", ["queue.db", "queue.sqlite", "nested/dir/queue.SQLITE3"])
def test_sqlite_url_and_paths(tmp_path: Path, form: str, name: str) -> None:
    path = tmp_path / name
    with open_queue(form.format(path=path)) as queue:
        assert isinstance(queue, SQLiteQueue)
        assert queue.path == path
    assert path.exists()


def test_class_path() -> None:
    with open_queue("cirrus.queue.memory:MemoryQueue") as queue:
        assert isinstance(queue, MemoryQueue)


def test_open_queue_names_the_valid_forms() -> None:
    with pytest.raises(ConfigError, match=r"sqlite:///path/queue\.db"):
        open_queue("redis://nope")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sqlite://", r"names nothing after sqlite://: use sqlite:///path/queue\.db"),
        ("queue.json", r"names no work queue: use memory://, sqlite:///path/queue\.db"),
        ("cirrus.queue.base:Message", "not a WorkQueue subclass"),
        ("no_such_module_xyz:Queue", "cannot load"),
    ],
)
def test_unknown_forms_list_valid_choices(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        open_queue(url)


@pytest.mark.parametrize(
    ("url", "limit"),
    [
        ("memory://", 5),
        ("memory://?max_receives=3", 3),
        ("memory://?max_receives=none", None),
        ("memory://?max_receives=NONE", None),
    ],
)
def test_the_receive_limit_comes_from_the_url(url: str, limit: int | None) -> None:
    with open_queue(url) as queue:
        assert queue.max_receives == limit


def test_a_sqlite_url_takes_the_receive_limit(tmp_path: Path) -> None:
    path = tmp_path / "queue.db"
    with open_queue(f"sqlite://{path}?max_receives=2") as queue:
        assert isinstance(queue, SQLiteQueue)
        assert (queue.path, queue.max_receives) == (path, 2)
    with open_queue(str(path)) as queue:  # a plain path: the default
        assert queue.max_receives == 5


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("max_receives=0", "not a receive limit"),
        ("max_receives=-1", "not a receive limit"),
        ("max_receives=many", "not a whole number"),
        ("max_receives=2&max_receives=3", "given twice"),
        ("max_recieves=3", "unknown option 'max_recieves'; it takes max_receives"),
        ("max_receives", "cannot read its options"),
    ],
)
def test_a_bad_receive_limit_is_refused(query: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        open_queue(f"memory://?{query}")
