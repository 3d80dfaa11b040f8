"""Running marks: what a killed worker was running is known to whoever takes over."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

from cirrus.queue import SQLiteQueue
from cirrus.runtime.running_marks import (
    RunningMarks,
    forget_dead,
    marks_folder,
    read_running,
    take_over,
)


def _dead_owner() -> str:
    # a pid above Linux's pid_max is never a live process of this machine
    return f"{socket.gethostname()}:{2**22 + 7}:1.deadbeef"


def test_marks_outlive_a_kill_9(tmp_path: Path) -> None:
    code = textwrap.dedent(
        f"""
        import os, signal
        from pathlib import Path
        from cirrus.runtime.running_marks import RunningMarks
        marks = RunningMarks.create(Path({str(tmp_path)!r}), "w1", slots=2)
        marks.clear(marks.mark("17"))
        marks.mark("42")
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    result = subprocess.run([sys.executable, "-c", code], check=False)
    assert result.returncode == -signal.SIGKILL
    assert read_running(tmp_path, "w1") == {"42"}


def test_marks_cleared_after_running_and_removed_on_close(tmp_path: Path) -> None:
    marks = RunningMarks.create(tmp_path, "w1", slots=2)
    slots = [marks.mark("1"), marks.mark("2")]
    assert read_running(tmp_path, "w1") == {"1", "2"}
    for slot in slots:
        marks.clear(slot)
    assert read_running(tmp_path, "w1") == set()
    marks.close()
    assert read_running(tmp_path, "w1") is None  # no file: nothing can be told


def test_more_running_than_slots_makes_the_marks_untrusted(tmp_path: Path) -> None:
    marks = RunningMarks.create(tmp_path, "w1", slots=1)
    first = marks.mark("1")
    marks.clear(marks.mark("2"))
    marks.clear(first)
    # "2" ran without a slot: a reader cannot tell what ran, so every receive counts
    assert read_running(tmp_path, "w1") is None
    marks.close()


def test_take_over_counts_only_the_running_message(tmp_path: Path) -> None:
    with SQLiteQueue(tmp_path / "queue.db") as queue:
        folder = marks_folder(queue)
        assert folder is not None
        owner = _dead_owner()
        queue.send_many(["a", "b", "c"])
        held = queue.receive(3, visibility_seconds=60, owner=owner)
        marks = RunningMarks.create(folder, owner, slots=2)
        marks.mark(held[1].id)
        assert take_over(queue, owner) == 3
        counts = {m.body: m.receive_count for m in queue.receive(5, visibility_seconds=60)}
        assert counts == {"a": 1, "b": 2, "c": 1}
        assert not list(folder.glob("*.running"))  # the dead worker's marks are gone


def test_take_over_without_marks_counts_every_receive(tmp_path: Path) -> None:
    with SQLiteQueue(tmp_path / "queue.db") as queue:
        owner = _dead_owner()
        queue.send_many(["a", "b"])
        queue.receive(2, visibility_seconds=60, owner=owner)
        assert take_over(queue, owner) == 2
        counts = [m.receive_count for m in queue.receive(5, visibility_seconds=60)]
        assert counts == [2, 2]


def test_forget_dead_keeps_the_marks_of_live_workers(tmp_path: Path) -> None:
    from cirrus.runtime.owners import is_dead_local_owner, new_owner

    with SQLiteQueue(tmp_path / "queue.db") as queue:
        folder = marks_folder(queue)
        assert folder is not None
        live = RunningMarks.create(folder, new_owner(), slots=1)
        RunningMarks.create(folder, _dead_owner(), slots=1)
        assert forget_dead(queue, is_dead_local_owner) == 1
        assert [path.name for path in folder.iterdir()] == [live.path.name]
        live.close()
        assert os.listdir(folder) == []
