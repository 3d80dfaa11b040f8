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
