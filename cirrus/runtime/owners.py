"""Who holds a claim, and whether that holder is still alive.

An owner id is ``<host>:<pid>:<start>.<random>``, where ``<start>`` is when the process
started (Linux: clock ticks after boot, from ``/proc``; elsewhere empty). Leases make every
claim lapse eventually; on the same machine a worker can do better and see at once that a
holder's process is gone (killed, crashed), so a rerun after ``kill -9`` picks the work up
immediately instead of waiting for the lease to run out. The start time tells a holder
from a later process that happens to get the same pid.
"""

from __future__ import annotations

import os
import socket
import uuid

__all__ = ["is_dead_local_owner", "new_owner"]


def new_owner() -> str:
    """A fresh owner id for this process."""
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_started(pid) or ''}.{uuid.uuid4().hex[:8]}"


def is_dead_local_owner(owner: str | None) -> bool:
    """Whether ``owner`` is a process of this machine that no longer exists.

    Owners of other machines, and ids in another format, are never called dead: only their
    lease can free their work.
    """
    if not owner:
        return False
    parts = owner.rsplit(":", 2)
    if len(parts) != 3 or parts[0] != socket.gethostname() or not parts[1].isdigit():
        return False
    pid = int(parts[1])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    # the pid is in use (maybe by this very process, as after a container restart): by the
    # holder, or by a process that got its pid later
    recorded, dot, _ = parts[2].partition(".")
    if not dot or not recorded:
        return False  # an id without a start time (older, or not Linux): trust the pid
    current = _started(pid)
    return current is not None and current != recorded


def _started(pid: int) -> str | None:
    """When process ``pid`` started, in clock ticks after boot (None where unknown)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            text = stat.read()
    except OSError:
        return None
    # the command name (field 2) may hold spaces and parentheses: count from its end
    fields = text.rpartition(")")[2].split()
    return fields[19] if len(fields) > 19 else None  # field 22: starttime
