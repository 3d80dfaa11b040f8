"""Which messages a worker is running at this moment, kept where its death cannot erase it.

A worker holds a whole batch of messages but runs only a few at a time (``workers``). When it
is killed, every message it held was delivered once more, and the receive limit would count
that against all of them, although only the ones running at that moment can have caused the
death. So each worker marks what it runs in a small file of slots, mapped into memory::

    marks = RunningMarks.create(folder, owner, slots=5)
    slot = marks.mark(message.id)
    try:
        ...  # run the message's execution
    finally:
        marks.clear(slot)

and whoever takes over a dead worker's messages reads the marks of that worker
(:func:`read_running`) and gives the others their receive back (see
:meth:`cirrus.queue.WorkQueue.release`).

A mark is a store into shared memory, not a system call, so it costs next to nothing per
execution. The kernel keeps the pages of a killed process, so the marks outlive a ``kill
-9``; a machine that loses power loses them, and then every receive counts (as on SQS).
Marks that cannot be trusted (a file that is missing, short or flagged) give None: every
receive counts.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cirrus.queue import WorkQueue

__all__ = [
    "RunningMarks",
    "forget_dead",
    "forget_running",
    "marks_folder",
    "read_running",
    "take_over",
]

_SLOT = 64
"""Bytes per slot: a length byte and up to 63 bytes of message id."""
_TRUSTED, _UNTRUSTED = b"T", b"U"
"""The header slot's first byte: whether every running message got a slot."""


def _file(folder: Path, owner: str) -> Path:
    return folder / (re.sub(r"[^A-Za-z0-9._-]", "_", owner) + ".running")


class RunningMarks:
    """The slots of one worker; make it with :meth:`create`."""

    def __init__(self, path: Path, memory: mmap.mmap, slots: int) -> None:
        self.path = path
        self._memory = memory
        self._free = list(range(slots, 0, -1))  # slot 0 is the header
        self._lock = threading.Lock()

    @classmethod
    def create(cls, folder: Path, owner: str, *, slots: int) -> RunningMarks:
        """Marks for ``owner`` with room for ``slots`` messages running at once."""
        folder.mkdir(parents=True, exist_ok=True)
        path = _file(folder, owner)
        size = (slots + 1) * _SLOT
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.ftruncate(descriptor, size)
            memory = mmap.mmap(descriptor, size)
        finally:
            os.close(descriptor)  # the mapping keeps the file
        memory[0:1] = _TRUSTED
        return cls(path, memory, slots)

    def mark(self, message_id: str) -> int:
        """Mark ``message_id`` as running; give the result to :meth:`clear` when it ends."""
        encoded = message_id.encode()
        with self._lock:
            slot = self._free.pop() if self._free else 0
        if not slot or len(encoded) >= _SLOT:
            self._memory[0:1] = _UNTRUSTED  # not marked: from now on every receive counts
            if slot:
                self._release(slot)
            return 0
        start = slot * _SLOT
        self._memory[start + 1 : start + 1 + len(encoded)] = encoded
        self._memory[start : start + 1] = bytes((len(encoded),))  # written last: whole or none
        return slot

    def clear(self, slot: int) -> None:
        """The message of ``slot`` (from :meth:`mark`) is no longer running."""
        if slot:
            self._memory[slot * _SLOT : slot * _SLOT + 1] = b"\0"
            self._release(slot)

    def _release(self, slot: int) -> None:
        with self._lock:
            self._free.append(slot)

    def close(self) -> None:
        """Unmap and remove the marks (the worker ends with nothing running)."""
        self._memory.close()
        with contextlib.suppress(OSError):
            self.path.unlink()


def read_running(folder: Path, owner: str) -> set[str] | None:
    """The messages ``owner`` (now dead) was running; None when its marks cannot tell."""
    try:
        data = _file(folder, owner).read_bytes()
    except OSError:
        return None
    if len(data) < _SLOT or len(data) % _SLOT or data[0:1] != _TRUSTED:
        return None
    running = set()
    for start in range(_SLOT, len(data), _SLOT):
        length = data[start]
        if length:
            running.add(data[start + 1 : start + 1 + length].decode(errors="replace"))
    return running


def forget_running(folder: Path, owner: str) -> None:
    """Remove the marks of ``owner`` once its messages are taken over."""
    with contextlib.suppress(OSError):
        _file(folder, owner).unlink()


def marks_folder(queue: WorkQueue) -> Path | None:
    """Where the workers of ``queue`` keep their marks: beside a queue file (None for a
    queue whose dead receivers are not taken over, in memory or on SQS)."""
    from cirrus.queue.sqlite import SQLiteQueue

    return queue.path.parent / "running" if isinstance(queue, SQLiteQueue) else None


def take_over(queue: WorkQueue, owner: str) -> int:
    """Make the messages of the dead receiver ``owner`` visible again, giving back the
    receive of those it was not running; returns how many."""
    folder = marks_folder(queue)
    running = None if folder is None else read_running(folder, owner)
    released = queue.release(owner, running=running)
    if folder is not None:
        forget_running(folder, owner)
    return released


def forget_dead(queue: WorkQueue, is_dead: Callable[[str], bool]) -> int:
    """Remove the marks of dead workers that held no message (nothing took them over)."""
    folder = marks_folder(queue)
    if folder is None or not folder.is_dir():
        return 0
    removed = 0
    for path in folder.glob("*.running"):
        # named <host>_<pid>_<start>.<random>: the owner id with ':' made '_'
        host, _, rest = path.name.removesuffix(".running").rpartition("_")
        host, _, pid = host.rpartition("_")
        if host and is_dead(f"{host}:{pid}:{rest}"):
            with contextlib.suppress(OSError):
                path.unlink()
                removed += 1
    return removed
