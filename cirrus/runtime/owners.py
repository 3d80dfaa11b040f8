"""Who holds a claim, and whether that holder is still alive.

An owner id is ``<host>:<pid>:<start>.<random>``, where ``<start>`` is when the process
started, in hundredths of a second after the machine booted (read by psutil, so it works on
Linux, macOS and Windows alike; on Linux it equals the clock ticks ``/proc`` shows). Leases
make every claim lapse eventually; on the same machine a worker can do better and see at once
that a holder's process is gone (killed, crashed, or exited and not yet reaped), so a rerun
after ``kill -9`` picks the work up immediately instead of waiting for the lease to run out.
The start time tells a holder from a later process that happens to get the same pid.
"""

from __future__ import annotations

import os
import socket
import uuid

import psutil

__all__ = ["is_dead_local_owner", "new_owner"]


def new_owner() -> str:
    """A fresh owner id for this process."""
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_started(pid) or ''}.{uuid.uuid4().hex[:8]}"


def is_dead_local_owner(owner: str | None) -> bool:
    """Whether ``owner`` is a process of this machine that no longer runs.

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
        if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
            return True  # it exited; only its parent has not collected it yet
    except psutil.NoSuchProcess:
        return True
    except psutil.AccessDenied:
        return False  # someone else's process: it exists, and that is all we can tell
    # the pid is in use (maybe by this very process, as after a container restart): by the
    # holder, or by a process that got its pid later
    recorded, dot, _ = parts[2].partition(".")
    if not dot or not recorded:
        return False  # an id without a start time (an older format): trust the pid
    current = _started(pid)
    return current is not None and current != recorded


def _started(pid: int) -> str | None:
    """When process ``pid`` started, in hundredths of a second after boot (None if unknown).

    Counted from boot rather than the epoch, so that a change of the system clock does not
    change it (on Linux psutil adds the boot time to ``/proc``'s ticks, and we take it off).
    """
    try:
        since_boot = psutil.Process(pid).create_time() - psutil.boot_time()
    except psutil.Error:
        return None
    return str(round(since_boot * 100))
