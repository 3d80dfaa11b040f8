"""The work queue: durable messages with visibility timeouts, for every backend."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cirrus.runtime.owners import is_dead_local_owner, new_owner
from cirrus.runtime.queue import MemoryQueue, SQLiteQueue, WorkQueue, open_queue


@pytest.fixture(params=[pytest.param("memory", id="memory"), pytest.param("sqlite", id="sqlite")])
def queue(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[WorkQueue]:
    opened = MemoryQueue() if request.param == "memory" else SQLiteQueue(tmp_path / "q.db")
    yield opened
    opened.close()


def test_messages_come_back_in_order_and_are_hidden_while_received(queue: WorkQueue) -> None:
    queue.send_many(["a", "b", "c"])
    first = queue.receive(2, visibility_seconds=60)
    assert [m.body for m in first] == ["a", "b"]
    assert queue.counts() == (1, 2)
    assert [m.body for m in queue.receive(5, visibility_seconds=60)] == ["c"]
    assert queue.receive(5, visibility_seconds=60) == []


def test_a_message_reappears_after_its_visibility_timeout(queue: WorkQueue) -> None:
    queue.send_many(["a"])
    (first,) = queue.receive(1, visibility_seconds=0.05)
    time.sleep(0.1)
    (again,) = queue.receive(1, visibility_seconds=60)
    assert again.body == "a" and again.receive_count == 2
    queue.delete_many([first])  # a stale receipt deletes nothing
    assert queue.counts() == (0, 1)
    queue.delete_many([again])
    assert queue.counts() == (0, 0)


def test_hide_and_release(queue: WorkQueue) -> None:
    queue.send_many(["a", "b"])
    messages = queue.receive(2, visibility_seconds=0.05, owner="w1")
    queue.hide(messages[:1], 60)
    time.sleep(0.1)
    assert [m.body for m in queue.receive(5, visibility_seconds=60, owner="w2")] == ["b"]
    assert queue.receivers() == {"w1", "w2"}
    assert queue.release("w1") == 1
    assert [m.body for m in queue.receive(5, visibility_seconds=60)] == ["a"]


def test_sqlite_queue_survives_reopening(tmp_path: Path) -> None:
    with open_queue(str(tmp_path / "q.db")) as first:
        first.send_many(["kept"])
    with open_queue(f"sqlite://{tmp_path / 'q.db'}") as second:
        assert [m.body for m in second.receive(1, visibility_seconds=1)] == ["kept"]


def test_open_queue_names_the_valid_forms() -> None:
    from cirrus.errors import ConfigError

    with pytest.raises(ConfigError, match=r"sqlite:///path/queue\.db"):
        open_queue("redis://nope")


def test_dead_local_owner() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    host_and_pid = new_owner().rsplit(":", 2)
    dead = f"{host_and_pid[0]}:{child.pid}:abc"
    assert is_dead_local_owner(dead)
    assert not is_dead_local_owner(new_owner())  # this process
    assert not is_dead_local_owner(f"other-host:{child.pid}:abc")
    assert not is_dead_local_owner("worker-1")


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="process start times need /proc")
def test_an_owner_whose_pid_now_belongs_to_another_process_is_dead() -> None:
    living = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        host = new_owner().split(":")[0]
        started = Path(f"/proc/{living.pid}/stat").read_text().rpartition(")")[2].split()[19]
        assert not is_dead_local_owner(f"{host}:{living.pid}:{started}.abc")  # the holder
        # the same pid with another start time: the holder died and the pid was reused
        assert is_dead_local_owner(f"{host}:{living.pid}:{int(started) - 1}.abc")
        assert not is_dead_local_owner(f"{host}:{living.pid}:abc")  # no start time: trust it
    finally:
        living.kill()
        living.wait()


def test_sending_with_keys_is_idempotent(queue: WorkQueue) -> None:
    queue.send_many(["a", "b"], keys=["k1", "k2"])
    (first, second) = queue.receive(5, visibility_seconds=60)
    queue.delete_many([first, second])
    queue.send_many(["a again", "c"], keys=["k1", "k3"])  # k1 was sent before: dropped
    assert [m.body for m in queue.receive(5, visibility_seconds=60)] == ["c"]


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


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="process start times need /proc")
def test_a_holder_that_had_this_processs_pid_before_is_dead() -> None:
    host, pid, mine = new_owner().split(":")
    started = mine.partition(".")[0]
    assert not is_dead_local_owner(f"{host}:{pid}:{started}.other")  # this process: alive
    assert is_dead_local_owner(f"{host}:{pid}:{int(started) - 5}.other")  # an earlier one
