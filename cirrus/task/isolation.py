"""Lambda-type tasks in processes of their own, kept warm between calls.

A :class:`HostPool` keeps one process per task slot (:mod:`cirrus.task.host`): a call
takes an idle process of its task or starts one, and gives it back when the call ends. A
process that times out, goes past its memory, is terminated or crashes is not given back:
it is killed (with its process group) and the call fails as Lambda reports it. The task is
loaded once per process, so a warm call costs a round trip through two pipes, not a start.

    pool = HostPool()
    output = pool.call("stamp", settings, payload, options, timeout=3, sink=log)
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from typing import IO, Any

from cirrus.errors import TaskError
from cirrus.task.children import CHILD_ENV, RunningTask, registered, stop_overdue
from cirrus.task.host import END, READY, RECORD
from cirrus.task.limits import lambda_crashed, lambda_out_of_memory, lambda_timed_out
from cirrus.task.tasklog import LogSink

__all__ = ["HostPool", "TaskHost", "task_process_env"]

_LOAD_SECONDS = 120.0
"""How long a new process may take to import its task (not counted in the timeout)."""
_POLL = 0.02
_LEVELS = {
    name: getattr(logging, name) for name in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
}


def task_process_env(environment: Mapping[str, str]) -> dict[str, str]:
    """The environment of a task process: this one's, the task's variables on top."""
    return {**os.environ, **environment, CHILD_ENV: "1"}


class TaskHost:
    """One warm process running calls of one task, one at a time."""

    def __init__(self, spec: str, environment: Mapping[str, str], sink: LogSink, task: str):
        self.task = task
        self.sink: LogSink | None = sink
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cirrus.task.host", spec],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=task_process_env(environment),
            text=True,
            encoding="utf-8",
            errors="replace",
            start_new_session=True,
        )
        self._replies: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._ends: queue.Queue[bool] = queue.Queue()
        self._readers = [
            threading.Thread(target=target, args=(stream,), daemon=True)
            for target, stream in (
                (self._read_replies, self.process.stdout),
                (self._read_log, self.process.stderr),
            )
        ]
        for reader in self._readers:
            reader.start()
        self.ready: dict[str, Any] | None = None

    def _read_replies(self, stream: IO[str]) -> None:
        for line in stream:
            try:
                self._replies.put(json.loads(line))
            except ValueError:
                continue
        self._replies.put(None)

    def _read_log(self, stream: IO[str]) -> None:
        for raw in stream:
            line = raw.rstrip("\n")
            if line == END:
                self._ends.put(True)
                continue
            sink = self.sink
            if sink is None:
                continue
            if line.startswith(RECORD):
                try:
                    level, text, when = json.loads(line[1:])
                except ValueError:
                    sink.add("INFO", self.task, line[1:])
                    continue
                if _LEVELS.get(level, logging.INFO) >= sink.level:
                    sink.add(level, self.task, text, when)
            else:
                sink.add("INFO", self.task, line)
        self._ends.put(False)

    def alive(self) -> bool:
        """Whether the process still runs."""
        return self.process.poll() is None

    def wait_ready(self, running: RunningTask) -> dict[str, Any] | None:
        """The load report (waits for it on first use); None if the process ended."""
        if self.ready is None:
            self.ready = self._wait(running)
        return self.ready

    def call(self, request: dict[str, Any], running: RunningTask) -> dict[str, Any] | None:
        """Run one call; its reply, or None when the process ended or was stopped."""
        try:
            assert self.process.stdin is not None
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            return self._wait(running)
        reply = self._wait(running)
        if reply is not None:
            # the call's last log lines are written before its reply: wait until they are in
            with contextlib.suppress(queue.Empty):
                self._ends.get(timeout=5)
        return reply

    def _wait(self, running: RunningTask) -> dict[str, Any] | None:
        while True:
            try:
                reply = self._replies.get(timeout=_POLL)
            except queue.Empty:
                if running.check() is not None or not self.alive():
                    self._finish()
                    return None
                continue
            if reply is None:
                self._finish()
            return reply

    def _finish(self) -> None:
        """The process ended (or was stopped): reap it and let its last lines in."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(5)
        with contextlib.suppress(queue.Empty):
            while self._ends.get(timeout=1):
                pass

    def close(self) -> None:
        """End the process: stdin closed, then killed if it lingers."""
        with contextlib.suppress(OSError, ValueError):
            assert self.process.stdin is not None
            self.process.stdin.close()
        try:
            self.process.wait(2)
        except subprocess.TimeoutExpired:
            RunningTask(self.process).stop("closed")
            self.process.wait(5)
        self._readers_done()

    def _readers_done(self) -> None:
        """Close the pipes once their readers have read them to the end."""
        for reader in self._readers:
            reader.join(5)
        for pipe in (self.process.stdout, self.process.stderr):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()


def _stopped_or_crashed(
    task: str,
    running: RunningTask,
    host: TaskHost,
    timeout: float | None,
    memory_mb: int | None,
) -> TaskError:
    """The error of a call whose process ended: why it was stopped, or how it died."""
    if running.stopped == "timeout" and timeout is not None:
        return lambda_timed_out(timeout)
    if running.stopped == "memory" and memory_mb is not None:
        return lambda_out_of_memory(memory_mb)
    if running.stopped == "terminated":
        return TaskError("States.Aborted", f"task {task!r} was terminated (its execution ended)")
    return lambda_crashed(host.process.returncode)


class HostPool:
    """Warm task processes, by task and environment."""

    def __init__(self) -> None:
        self._idle: dict[tuple[str, tuple[tuple[str, str], ...]], list[TaskHost]] = {}
        self._lock = threading.Lock()
        self._closed = False

    def call(
        self,
        task: str,
        spec: str,
        event: Any,
        options: Mapping[str, Any],
        *,
        sink: LogSink,
        environment: Mapping[str, str],
        timeout: float | None = None,
        memory_mb: int | None = None,
        execution: str = "",
    ) -> Any:
        """Run ``task`` on ``event`` in a process of its own.

        Raises:
            TaskError: the task failed (its own error), or was stopped or crashed (the
                error Lambda gives: ``Sandbox.Timedout``, ``Runtime.ExitError``).
        """
        key = (spec, tuple(sorted(environment.items())))
        stop_overdue(execution)  # a timed-out try of this execution never overlaps its retry
        host = self._take(key)
        if host is None:
            host = TaskHost(spec, environment, sink, task)
        host.sink = sink
        host.task = task
        running = RunningTask(host.process, execution, memory_mb=memory_mb)
        reply: dict[str, Any] | None = None
        with registered(running):  # how the call ended is known once this block is left
            ready = host.wait_ready(
                RunningTask(host.process, execution, time.monotonic() + _LOAD_SECONDS)
            )
            if ready is not None and ready.get(READY):
                if timeout is not None:
                    running.deadline = time.monotonic() + timeout
                request = {"event": event, "options": dict(options), "level": sink.level}
                reply = host.call(request, running)
        host.sink = None
        if ready is None or not ready.get(READY):
            host.close()
            if ready is None:
                raise _stopped_or_crashed(task, running, host, timeout, memory_mb)
            raise TaskError(str(ready.get("error")), str(ready.get("cause")))
        if reply is None:
            host.close()
            raise _stopped_or_crashed(task, running, host, timeout, memory_mb)
        self._give_back(key, host)
        if "error" in reply:
            raise TaskError(str(reply["error"]), str(reply["cause"]))
        return reply.get("output")

    def _take(self, key: tuple[str, tuple[tuple[str, str], ...]]) -> TaskHost | None:
        with self._lock:
            idle = self._idle.get(key, [])
            while idle:
                host = idle.pop()
                if host.alive():
                    return host
        return None

    def _give_back(self, key: tuple[str, tuple[tuple[str, str], ...]], host: TaskHost) -> None:
        with self._lock:
            if not self._closed:
                self._idle.setdefault(key, []).append(host)
                return
        host.close()

    def close(self) -> None:
        """End every idle process (and refuse to keep more)."""
        with self._lock:
            self._closed = True
            hosts = [host for idle in self._idle.values() for host in idle]
            self._idle.clear()
        for host in hosts:
            host.close()
