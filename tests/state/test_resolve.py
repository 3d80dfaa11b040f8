"""open_state_db: picking a backend from a URL, a path or a class path."""

from __future__ import annotations

from pathlib import Path

import pytest

from cirrus.errors import ConfigError
from cirrus.state import MemoryStateDB, SQLiteStateDB, open_state_db


@pytest.mark.parametrize("url", ["memory://", "Memory://", "memory"])
def test_memory_url(url: str) -> None:
    with open_state_db(url) as db:
        assert isinstance(db, MemoryStateDB)


@pytest.mark.parametrize(
    "form",
    ["sqlite://{path}", "SQLITE://{path}", "{path}"],
    ids=["sqlite-url", "any-case", "plain-path"],
)
@pytest.mark.parametrize(
    "name", ["state.db", "state.sqlite", "nested/dir/state.sqlite3", "state.SQLITE3"]
)
def test_sqlite_url_and_paths(tmp_path: Path, form: str, name: str) -> None:
    path = tmp_path / name
    with open_state_db(form.format(path=path)) as db:
        assert isinstance(db, SQLiteStateDB)
        assert db.path == path
    assert path.exists()


def test_sqlite_url_without_file() -> None:
    with pytest.raises(ConfigError, match="sqlite:///abs"):
        open_state_db("sqlite://")


def test_class_path() -> None:
    with open_state_db("cirrus.state.memory:MemoryStateDB") as db:
        assert isinstance(db, MemoryStateDB)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redis://localhost/0", "unknown scheme 'redis'"),
        ("state.json", "memory://, sqlite:///abs/path.db"),
        ("cirrus.state.models:State", "not a StateDB subclass"),
        ("no_such_module_xyz:Backend", "cannot load"),
    ],
)
def test_unknown_forms_list_valid_choices(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        open_state_db(url)
