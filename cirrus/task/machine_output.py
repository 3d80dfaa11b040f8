"""Machine output (JSON on stdout) that nothing a task writes can spoil.

Commands that print JSON and run tasks call :func:`guard_stdout` first: file descriptor 1
then points at stderr, so whatever a task, a C library or a child process writes to
"stdout" lands on stderr, and the command's own JSON goes through :func:`machine_stdout`, a
stream on a private copy of the real stdout::

    guard_stdout()
    print("noise")                           # on stderr
    machine_stdout().write('{"ok": 1}\\n')   # on stdout
"""

from __future__ import annotations

import atexit
import io
import os
import sys
import threading
from typing import IO

__all__ = ["guard_stdout", "machine_stdout"]

_machine: IO[str] | None = None
_lock = threading.Lock()


def _own_stdout() -> object:
    """``sys.stdout`` seen through the task-log wrapper (:mod:`cirrus.task.tasklog`)."""
    stream = sys.stdout
    return getattr(stream, "fallback", stream)


def machine_stdout() -> IO[str]:
    """Where machine output goes: the guarded real stdout, or ``sys.stdout`` when unguarded.

    Someone who replaced ``sys.stdout`` since (a test runner, an application) gets theirs.
    """
    if _machine is not None and _own_stdout() is sys.__stdout__:
        return _machine
    return sys.stdout


def guard_stdout() -> IO[str]:
    """Keep the real stdout for machine output; send every other write to fd 1 to stderr.

    Idempotent; returns the machine stream. Only the interpreter's own stdout is guarded:
    where ``sys.stdout`` was replaced (an embedding application, a test runner) nothing
    changes and ``sys.stdout`` is returned.
    """
    global _machine
    with _lock:
        if _own_stdout() is not sys.__stdout__ or sys.__stdout__ is None:
            return sys.stdout
        if _machine is not None:
            return _machine
        try:
            sys.stdout.flush()
            real = os.dup(1)
            os.dup2(2, 1)
        except (OSError, ValueError, io.UnsupportedOperation):
            return sys.stdout
        _machine = io.TextIOWrapper(
            io.FileIO(real, "w"), encoding="utf-8", line_buffering=True, newline="\n"
        )
        atexit.register(_machine.flush)
        return _machine
