"""Per-execution task logs: what a task writes, kept apart for every execution.

Lambda-type tasks of many payloads run at once in threads of one process. Whoever runs an
execution binds a :class:`ExecutionLog` to the current context; the runner names the task
around each call. Everything a task then writes — ``logging`` records, ``warnings``,
``print`` and other writes to ``sys.stdout``/``sys.stderr`` — lands in that execution's log
and nowhere else, since the context travels with the task's thread (and with the threads the
engine starts for it), never to another payload's::

    log = ExecutionLog("c/workflow-w/a", "exec-1")
    with bound(log), task_named("stamp"):
        logging.getLogger("mytask").info("hello")
    log.text()  # '2026-01-01T00:00:00.000Z INFO stamp c/workflow-w/a hello\\n'

Every line reads ``<UTC time> <LEVEL> <task> <payload id> <text>``; a multi-line message
(a traceback) gives one such line per line. A log keeps its first and its last
``max_bytes / 2`` and says where it was cut, so a flood never hides the failure at its end.
:func:`install` routes the process's logging, warnings and standard streams (once); records
written outside any execution go on as before (warnings and worse to stderr).
"""

from __future__ import annotations

import collections
import contextlib
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar, Token
from typing import IO, Any, Protocol

__all__ = [
    "DEFAULT_MAX_LOG_BYTES",
    "ExecutionLog",
    "LogSink",
    "StreamLog",
    "bind",
    "bound",
    "current_scope",
    "enter_task",
    "format_line",
    "install",
    "leave_task",
    "parse_level",
    "task_named",
    "unbind",
]

DEFAULT_MAX_LOG_BYTES = 1_000_000
"""What one execution's log keeps at most (its first and last half)."""

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def parse_level(name: str | int) -> int:
    """A logging level from its name (``info``, ``DEBUG``...) or number.

    Raises:
        ValueError: not a level; the message lists the names.
    """
    if isinstance(name, int):
        return name
    level = logging.getLevelName(name.strip().upper())
    if not isinstance(level, int):
        raise ValueError(f"{name!r} is not a log level: use one of {', '.join(LEVELS)}")
    return level


def _timestamp(when: float) -> str:
    seconds = time.gmtime(when)
    return time.strftime("%Y-%m-%dT%H:%M:%S", seconds) + f".{int(when % 1 * 1000):03d}Z"


def format_line(when: float, level: str, task: str, payload_id: str, text: str) -> str:
    """One log line (without its newline)."""
    return f"{_timestamp(when)} {level} {task or '-'} {payload_id or '-'} {text}"


class LogSink(Protocol):
    """Where the lines of a task go."""

    payload_id: str
    level: int

    def add(self, level: str, task: str, text: str, when: float | None = None) -> None:
        """Add ``text`` (one or more lines) at ``level``, written by ``task``."""

    def add_formatted(self, line: str) -> None:
        """Add a line already in the log's form (from a task's own process)."""


_LOGS_LOCK = threading.Lock()


class ExecutionLog:
    """The log of one execution, kept in memory until the execution ends.

    Args:
        payload_id: the payload the execution runs.
        execution: its name.
        level: records below this level are dropped.
        max_bytes: the most the log keeps (its head and tail halves, and a marker between).
    """

    def __init__(
        self,
        payload_id: str,
        execution: str = "",
        *,
        level: int = logging.INFO,
        max_bytes: int = DEFAULT_MAX_LOG_BYTES,
    ) -> None:
        self.payload_id = payload_id
        self.execution = execution
        self.level = level
        self.max_bytes = max_bytes
        # one made per execution, most of which log nothing: the parts come with the lines
        self._head: list[str] = []
        self._head_bytes = 0
        self._tail: collections.deque[str] | None = None
        self._tail_bytes = 0
        self._cut_lines = 0
        self._cut_bytes = 0
        self.lines_added = 0
        """How many lines came in (those cut included): tells a reader what is new."""
        self.on_first_line: Callable[[ExecutionLog], object] | None = None
        """Called (once, with this log) when the first line comes in. The log is passed
        rather than captured, so that the callback and the log make no reference cycle
        (one per execution would keep the garbage collector busy)."""

    def __bool__(self) -> bool:
        return bool(self._head)

    def add(self, level: str, task: str, text: str, when: float | None = None) -> None:
        when = time.time() if when is None else when
        for line in text.splitlines() or [""]:
            self.add_formatted(format_line(when, level, task, self.payload_id, line))

    def add_formatted(self, line: str) -> None:
        size = len(line) + 1
        half = self.max_bytes // 2
        with _LOGS_LOCK:  # lines are rare next to executions: one lock serves every log
            self.lines_added += 1
            first = self.lines_added == 1
            self._keep(line, size, half)
        if first and self.on_first_line is not None:
            self.on_first_line(self)  # outside the lock: it may take others

    def _keep(self, line: str, size: int, half: int) -> None:
        """Keep a line in the head, or the tail (dropping the oldest past half the cap)."""
        if self._head_bytes + size <= half and not self._tail:
            self._head.append(line)
            self._head_bytes += size
            return
        if self._tail is None:
            self._tail = collections.deque()
        self._tail.append(line)
        self._tail_bytes += size
        while self._tail_bytes > half and self._tail:
            dropped = self._tail.popleft()
            self._tail_bytes -= len(dropped) + 1
            self._cut_lines += 1
            self._cut_bytes += len(dropped) + 1

    def text(self) -> str:
        """The log as text, with a marker where lines were cut."""
        with _LOGS_LOCK:
            lines = list(self._head)
            if self._cut_lines:
                lines.append(
                    f"[cirrus: {self._cut_lines} line(s), {self._cut_bytes} bytes cut here: "
                    f"an execution's log keeps its first and last {self.max_bytes // 2} bytes]"
                )
            lines.extend(self._tail or ())
        return "".join(line + "\n" for line in lines)


class StreamLog:
    """A sink that writes each line at once to a stream (stderr when run by hand)."""

    def __init__(self, stream: IO[str], payload_id: str = "", *, level: int = logging.INFO):
        self.stream = stream
        self.payload_id = payload_id
        self.level = level
        self._lock = threading.Lock()

    def add(self, level: str, task: str, text: str, when: float | None = None) -> None:
        when = time.time() if when is None else when
        for line in text.splitlines() or [""]:
            self.add_formatted(format_line(when, level, task, self.payload_id, line))

    def add_formatted(self, line: str) -> None:
        with self._lock:
            self.stream.write(line + "\n")
            self.stream.flush()


class Scope:
    """Who is writing: the execution's log and the task running now.

    Attributes:
        sink: where the lines go.
        task: the task running now ("" between tasks).
        execution: the execution's name.
        partial: unfinished lines written to stdout/stderr, per thread and stream.
    """

    __slots__ = ("execution", "partial", "sink", "task")

    def __init__(self, sink: LogSink, task: str = "", execution: str = "") -> None:
        # made for every task call: a plain slotted class is the cheapest to build
        self.sink = sink
        self.task = task
        self.execution = execution
        self.partial: dict[tuple[int, str], str] = {}

    def write(self, text: str, stream: str) -> None:
        """Take text written to a standard stream; complete lines go to the log."""
        key = (threading.get_ident(), stream)
        pending = self.partial.pop(key, "") + text
        *lines, rest = pending.split("\n")
        level = "INFO" if stream == "stdout" else "WARNING"
        for line in lines:
            self.sink.add(level, self.task, line)
        if rest:
            self.partial[key] = rest

    def flush_partial(self) -> None:
        """Log what was written without a final newline."""
        for (_, stream), rest in list(self.partial.items()):
            self.sink.add("INFO" if stream == "stdout" else "WARNING", self.task, rest)
        self.partial.clear()


_SCOPE: ContextVar[Scope | None] = ContextVar("cirrus_task_scope", default=None)


def current_scope() -> Scope | None:
    """The scope of the task running in this context, if any."""
    return _SCOPE.get()


def bind(sink: LogSink, execution: str = "") -> Token[Scope | None]:
    """Send what tasks write in this context to ``sink``; undo with :func:`unbind`."""
    return _SCOPE.set(Scope(sink, execution=execution))


def unbind(token: Token[Scope | None]) -> None:
    """End what :func:`bind` began."""
    _SCOPE.reset(token)


@contextlib.contextmanager
def bound(sink: LogSink, execution: str = "") -> Iterator[Scope]:
    """Send what tasks write in this context to ``sink`` while the block runs."""
    token = bind(sink, execution)
    try:
        yield _SCOPE.get()  # type: ignore[misc]
    finally:
        unbind(token)


def enter_task(task: str) -> Token[Scope | None] | None:
    """Name the task whose lines follow; give the result to :func:`leave_task`.

    Outside :func:`bound` it does nothing (and costs next to nothing: this is on the path of
    every task call).
    """
    outer = _SCOPE.get()
    if outer is None:
        return None
    return _SCOPE.set(Scope(outer.sink, task, outer.execution))


def leave_task(token: Token[Scope | None] | None) -> None:
    """End what :func:`enter_task` began: the task's unfinished line is logged."""
    if token is None:
        return
    scope = _SCOPE.get()
    if scope is not None and scope.partial:
        scope.flush_partial()
    _SCOPE.reset(token)


@contextlib.contextmanager
def task_named(task: str) -> Iterator[Scope | None]:
    """Name the task whose lines follow (inside :func:`bound`; does nothing outside)."""
    token = enter_task(task)
    try:
        yield _SCOPE.get() if token is not None else None
    finally:
        leave_task(token)


class _RoutingHandler(logging.Handler):
    """Sends records made inside a scope to its log; others to stderr from WARNING up."""

    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        self.setFormatter(logging.Formatter("%(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        scope = _SCOPE.get()
        if scope is None:
            if record.levelno >= logging.WARNING and not _has_other_handlers():
                # what logging's last resort would have printed, had we not been here
                stream = sys.__stderr__
                if stream is not None:
                    stream.write(self.format(record) + "\n")
            return
        if record.levelno < scope.sink.level:
            return
        try:
            text = self.format(record)
        except Exception:  # noqa: BLE001 - a bad format string must not fail the task
            text = f"{record.msg!r} {record.args!r}"
        scope.sink.add(record.levelname, scope.task, text, record.created)


def _has_other_handlers() -> bool:
    return any(not isinstance(h, _RoutingHandler) for h in logging.getLogger().handlers)


class _RoutingStream:
    """A standard stream that sends writes made inside a scope to its log."""

    def __init__(self, name: str, fallback: Any) -> None:
        self._name = name
        self._fallback = fallback

    @property
    def fallback(self) -> Any:
        """The stream writes outside any scope go to."""
        return self._fallback

    def write(self, text: str) -> int:
        scope = _SCOPE.get()
        if scope is None:
            return int(self._fallback.write(text) or 0)
        scope.write(text, self._name)
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if _SCOPE.get() is None:
            self._fallback.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fallback, name)


_INSTALLED = threading.Lock()
_installed = False


def install(level: int = logging.INFO) -> None:
    """Route logging, warnings, stdout and stderr of tasks to their scopes (once per process).

    Records at ``level`` and above are made (the root logger's level is lowered to it when
    higher); outside any scope, nothing changes for the caller: warnings and worse still
    reach stderr, writes to the standard streams go where they went.
    """
    global _installed
    with _INSTALLED:
        root = logging.getLogger()
        if root.getEffectiveLevel() > level:
            root.setLevel(level)
        if not _installed:
            root.addHandler(_RoutingHandler())
            logging.captureWarnings(True)
            _installed = True
        # checked every time: test runners and others put their own streams in place
        if not isinstance(sys.stdout, _RoutingStream):
            sys.stdout = _RoutingStream("stdout", sys.stdout)
        if not isinstance(sys.stderr, _RoutingStream):
            sys.stderr = _RoutingStream("stderr", sys.stderr)
