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


def machine_stdout() -> IO[str]:
    """Where machine output goes: the guarded real stdout, or ``sys.stdout`` when unguarded."""
    return _machine if _machine is not None else sys.stdout


def guard_stdout() -> IO[str]:
    """Keep the real stdout for machine output; send every other write to fd 1 to stderr.

    Idempotent; returns the machine stream. Does nothing where stdout has no file
    descriptor (an embedding application's stream), returning ``sys.stdout``.
    """
    global _machine
    with _lock:
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
