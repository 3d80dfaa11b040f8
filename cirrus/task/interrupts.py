"""Telling a real Ctrl-C from a task that raises ``KeyboardInterrupt``.

A task may raise ``KeyboardInterrupt`` itself; that costs only its payload. A Ctrl-C (SIGINT)
stops the pipeline. Both arrive as the same exception in the thread that runs the task, so
:func:`watch_interrupts` (called from the main thread) notes each SIGINT before raising as
Python does, and :func:`interrupted_by_user` says whether one came.

Some work must not be cut in two: a worker concludes and commits a wave of finished
executions whole. Inside :func:`held_interrupts` the first Ctrl-C (or SIGTERM, see
:mod:`cirrus.runtime.signals`) is raised when the block ends; a second one goes through at
once, for a user who will not wait.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

__all__ = ["held_interrupts", "interrupted_by_user", "raise_interrupt", "watch_interrupts"]

_interrupted = threading.Event()
_holding = 0  # depth of held_interrupts() blocks in the main thread (signals run there)
_held: BaseException | None = None  # the interrupt that came meanwhile


def raise_interrupt(error: BaseException) -> None:
    """Raise ``error`` from a signal handler: now, or when :func:`held_interrupts` ends."""
    global _held
    if _holding and _held is None:
        _held = error
        return
    raise error


@contextmanager
def held_interrupts() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM while the block runs (in the main thread; elsewhere signals
    do not arrive anyway): the first one is raised when it ends, a second one at once."""
    global _holding, _held
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _holding += 1
    try:
        yield
    finally:
        _holding -= 1
        if not _holding and _held is not None:
            error, _held = _held, None
            raise error


def _note_and_raise(signum: int, frame: FrameType | None) -> None:
    _interrupted.set()
    raise_interrupt(KeyboardInterrupt())


def watch_interrupts() -> None:
    """Note SIGINTs (only where Python's own handler is in place, from the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _note_and_raise)


def interrupted_by_user(error: BaseException | None = None) -> bool:
    """Whether ``error`` (a ``KeyboardInterrupt``) is the user's or a signal's, not a task's.

    True after a SIGINT, for a subclass of ``KeyboardInterrupt`` (what a signal handler of
    the pipeline raises, such as SIGTERM's), and in the main thread under a SIGINT handler
    that is not ours.
    """
    if error is not None and type(error) is not KeyboardInterrupt:
        return True
    return _interrupted.is_set() or (
        signal.getsignal(signal.SIGINT) not in (_note_and_raise, signal.SIG_IGN)
        and threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    )
