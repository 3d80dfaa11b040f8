"""Runtime settings: where the work queue goes when nothing names one."""

from __future__ import annotations

from pathlib import Path

import pytest

from cirrus.project.config import ProjectConfig
from cirrus.queue import MemoryQueue, SQLiteQueue, open_queue
from cirrus.runtime.settings import RuntimeSettings
from cirrus.state import open_state_db
from cirrus.state.sqlite import SQLiteStateDB


@pytest.mark.parametrize(
    ("state_db", "queue"),
    [
        pytest.param("{tmp}/a/state.db", "{tmp}/a/queue.db", id="path"),
        pytest.param("{tmp}/a/state.SQLITE3", "{tmp}/a/queue.db", id="sqlite3-path"),
        pytest.param("SQLITE://{tmp}/a/state.db", "{tmp}/a/queue.db", id="sqlite-any-case"),
        pytest.param("sqlite://rel/state.db", "{tmp}/rel/queue.db", id="relative"),
        pytest.param("Memory://", "memory://", id="memory"),
        pytest.param("redis://host", "{root}/.cirrus/queue.db", id="elsewhere"),
    ],
)
def test_the_default_queue_sits_beside_a_sqlite_state_database(
    state_db: str, queue: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "project"
    env = {"CIRRUS_STATE_DB": state_db.format(tmp=tmp_path)}
    settings = RuntimeSettings.from_config(ProjectConfig.embedded(root, env=env))
    expected = queue.format(tmp=tmp_path, root=root)
    assert settings.queue == expected
    with open_queue(expected) as opened:  # and the queue opens where the state database would
        assert isinstance(opened, MemoryQueue if expected == "memory://" else SQLiteQueue)


def test_a_queue_named_in_the_environment_wins(tmp_path: Path) -> None:
    config = ProjectConfig.embedded(tmp_path, env={"CIRRUS_QUEUE": "memory://"})
    assert RuntimeSettings.from_config(config).queue == "memory://"


def test_a_queue_named_in_cirrus_yml_is_used(tmp_path: Path) -> None:
    (tmp_path / "cirrus.yml").write_text("queue: sqs://shared-process-queue\n")
    config = ProjectConfig.load(tmp_path, env={})
    assert RuntimeSettings.from_config(config).queue == "sqs://shared-process-queue"


@pytest.mark.parametrize("state_db", ["sqlite://state.db", "sqlite://rel/state.db"])
def test_the_queue_sits_beside_a_relative_sqlite_state_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, state_db: str
) -> None:
    monkeypatch.chdir(tmp_path)
    config = ProjectConfig.embedded(tmp_path, env={"CIRRUS_STATE_DB": state_db})
    queue = RuntimeSettings.from_config(config).queue  # sqlite://state.db: ValueError
    database = open_state_db(config.state_db)
    try:
        assert isinstance(database, SQLiteStateDB)
        # sqlite://rel/state.db opens rel/state.db; its queue went to /queue.db
        assert Path(queue.removeprefix("sqlite://")).absolute().parent == database.path.parent
    finally:
        database.close()


def test_the_receive_limit_reaches_a_sqlite_or_memory_queue_but_not_sqs() -> None:
    from cirrus.runtime.settings import with_receive_limit

    assert (
        with_receive_limit("/p/.cirrus/queue.db", 3)
        == "sqlite:///p/.cirrus/queue.db?max_receives=3"
    )
    assert with_receive_limit("memory://", 2) == "memory://?max_receives=2"
    assert with_receive_limit("sqlite:///q.db?max_receives=9", 3) == "sqlite:///q.db?max_receives=9"
    assert with_receive_limit("sqs://my-queue", 3) == "sqs://my-queue"
