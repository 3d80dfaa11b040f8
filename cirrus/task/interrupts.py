"""Telling a real Ctrl-C from a task that raises ``KeyboardInterrupt``.

A task may raise ``KeyboardInterrupt`` itself; that costs only its payload. A Ctrl-C (SIGINT)
stops the pipeline. Both arrive as the same exception in the thread that runs the task, so
:func:`watch_interrupts` (called from the main thread) notes each SIGINT before raising as
Python does, and :func:`interrupted_by_user` says whether one came.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

__all__ = ["interrupted_by_user", "watch_interrupts"]

_interrupted = threading.Event()


def _note_and_raise(signum: int, frame: FrameType | None) -> None:
    _interrupted.set()
    raise KeyboardInterrupt


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
