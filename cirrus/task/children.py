"""The processes tasks run in, by execution, so that they can be stopped.

A task that runs in a process of its own (a batch-type task, or a lambda-type task with a
timeout, a memory limit or an environment) is registered here for the time it runs, under
its execution's name. Then:

- its runner stops it at its deadline or when it uses more memory than allowed
  (:meth:`RunningTask.check`);
- :func:`terminate_execution` stops every task process of an execution (an abort, or the
  end of an execution that left a timed-out task behind: nothing it does lands after its
  payload's outcome), also from another process of the machine (``cirrus abort``): each
  task process running longer than half a second is noted as a file
  ``<temp dir>/cirrus-task-processes/<execution>/<pid>`` holding its start time (quick
  calls skip the note: files cost milliseconds on some machines);
- :func:`stop_overdue` stops those past their deadline before a retry starts, so that a
  task never overlaps with its own retry.

Task processes are started in a session of their own (a Ctrl-C on the terminal is the
pipeline's to handle, not theirs); stopping one kills its whole process group, and a task
process dies with the process that started it (:func:`die_with_parent`).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil

__all__ = [
    "CHILD_ENV",
    "PIDS_ROOT",
    "RunningTask",
    "die_with_parent",
    "registered",
    "running_count",
    "stop_overdue",
    "stop_own",
    "terminate_execution",
]

CHILD_ENV = "CIRRUS_TASK_CHILD"
"""Set in the environment of task processes (they then die with their parent)."""

_PR_SET_PDEATHSIG = 1
_SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_TERMINATED = "terminated"
_NOTE_AFTER = 0.5
"""Seconds a task process runs before it is noted on disk for other processes."""


@dataclass(eq=False)
class RunningTask:
    """A task process in the registry.

    Attributes:
        process: the process.
        execution: the execution it works for ("" when none).
        deadline: ``time.monotonic()`` value past which it is stopped, or None.
        memory_mb: resident memory (the process and its children) past which it is
            stopped, or None.
        stopped: why it was stopped (``timeout``, ``memory``, ``terminated``), or None.
    """

    process: subprocess.Popen[bytes] | subprocess.Popen[str]
    execution: str = ""
    deadline: float | None = None
    memory_mb: int | None = None
    stopped: str | None = None
    peak_mb: float = 0.0
    _last_memory_check: float = field(default=0.0, repr=False)
    _since: float = field(default_factory=time.monotonic, repr=False)
    _note: Path | None = field(default=None, repr=False)

    def stop(self, reason: str) -> None:
        """Kill the process and its group (first reason wins)."""
        if self.stopped is None:
            self.stopped = reason
        _kill_group(self.process)

    def check(self) -> str | None:
        """Stop the process if it is past its deadline or its memory; returns why, or None."""
        if self.stopped is not None:
            return self.stopped
        now = time.monotonic()
        if self._note is None and now - self._since >= _NOTE_AFTER:
            self._note = _write_note(self)
        if self.deadline is not None and now >= self.deadline:
            self.stop("timeout")
        elif self.memory_mb is not None and now - self._last_memory_check >= 0.05:
            self._last_memory_check = now
            used = _resident_mb(self.process.pid)
            self.peak_mb = max(self.peak_mb, used)
            if used > self.memory_mb:
                self.stop("memory")
        return self.stopped

    def seconds_left(self) -> float | None:
        """Seconds until the deadline (None: no deadline)."""
        return None if self.deadline is None else self.deadline - time.monotonic()


_lock = threading.Lock()
_running: dict[str, set[RunningTask]] = {}


PIDS_ROOT = Path(tempfile.gettempdir()) / "cirrus-task-processes"
"""Where running task processes are noted, by execution, for other processes to find."""


def _note_file(execution: str, pid: int) -> Path | None:
    if not execution or not _SAFE_NAME.fullmatch(execution):
        return None
    return PIDS_ROOT / execution / str(pid)


def _write_note(task: RunningTask) -> Path:
    """Note a task process on disk for other processes; returns where (even if it failed)."""
    note = _note_file(task.execution, task.process.pid)
    if note is None:
        return Path()
    with contextlib.suppress(OSError):
        note.parent.mkdir(parents=True, exist_ok=True)
        note.write_text(str(_start_time(task.process.pid)))
    return note


@contextlib.contextmanager
def registered(task: RunningTask) -> Iterator[RunningTask]:
    """Keep ``task`` in the registry while the block runs (noted on disk once it runs long).

    The block calls :meth:`RunningTask.check` while it waits.
    """
    task._since = time.monotonic()
    with _lock:
        _running.setdefault(task.execution, set()).add(task)
    try:
        yield task
    finally:
        note = task._note if task._note != Path() else None
        if note is not None:
            with contextlib.suppress(OSError):
                if note.read_text() == _TERMINATED and task.stopped is None:
                    task.stopped = "terminated"  # by an abort in another process
            with contextlib.suppress(OSError):
                note.unlink()
            with contextlib.suppress(OSError):
                note.parent.rmdir()  # only when it is empty
        with _lock:
            tasks = _running.get(task.execution)
            if tasks is not None:
                tasks.discard(task)
                if not tasks:
                    del _running[task.execution]


def terminate_execution(execution: str) -> int:
    """Kill every task process running for ``execution`` on this machine; returns how many.

    The API an abort uses: the processes are gone when this returns (their runners then
    report the task as terminated). Processes started by another process of this machine
    are found through their notes.
    """
    own = stop_own(execution)
    return len(own) + _terminate_noted(execution, own)


def stop_own(execution: str) -> set[int]:
    """Kill the task processes this process runs for ``execution``; returns their pids.

    What the end of every execution calls: quick when there are none (no disk is read).
    """
    if execution not in _running:
        return set()
    with _lock:
        tasks = list(_running.get(execution, ()))
    for task in tasks:
        task.stop("terminated")
    for task in tasks:
        with contextlib.suppress(subprocess.TimeoutExpired):
            task.process.wait(5)
    return {task.process.pid for task in tasks}


def _terminate_noted(execution: str, own: set[int]) -> int:
    """Kill the noted task processes of ``execution`` that another process started."""
    folder = _note_file(execution, 0)
    if folder is None or not folder.parent.is_dir():
        return 0
    killed = 0
    for note in folder.parent.iterdir():
        try:
            pid, started = int(note.name), float(note.read_text() or 0)
        except (OSError, ValueError):
            continue
        if pid in own or _start_time(pid) != started:
            continue  # ours (stopped above), or gone and its pid taken by another process
        with contextlib.suppress(OSError):
            note.write_text(_TERMINATED)  # its runner reports it terminated, not crashed
        with contextlib.suppress(ProcessLookupError, PermissionError, OSError):
            os.killpg(pid, signal.SIGKILL)
            killed += 1
        with contextlib.suppress(psutil.Error):
            psutil.Process(pid).wait(5)
    return killed


def _start_time(pid: int) -> float:
    try:
        return float(psutil.Process(pid).create_time())
    except psutil.Error:
        return -1.0


def stop_overdue(execution: str) -> None:
    """Kill the task processes of ``execution`` that are past their deadline (and wait)."""
    with _lock:
        tasks = [t for t in _running.get(execution, ()) if (t.seconds_left() or 1) <= 0]
    for task in tasks:
        task.stop("timeout")
        with contextlib.suppress(subprocess.TimeoutExpired):
            task.process.wait(5)


def running_count(execution: str | None = None) -> int:
    """How many task processes run (for ``execution``, or in all)."""
    with _lock:
        if execution is not None:
            return len(_running.get(execution, ()))
        return sum(len(tasks) for tasks in _running.values())


def _kill_group(process: subprocess.Popen[bytes] | subprocess.Popen[str]) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, OSError):
        with contextlib.suppress(ProcessLookupError, OSError):
            process.kill()


def _resident_mb(pid: int) -> float:
    try:
        parent = psutil.Process(pid)
        total = parent.memory_info().rss
        for child in parent.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                total += child.memory_info().rss
    except psutil.Error:
        return 0.0
    return total / (1024 * 1024)


def die_with_parent() -> None:
    """In a task process: be killed when the process that started it dies (Linux)."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() == 1:  # the parent died before the line above
        os._exit(1)
