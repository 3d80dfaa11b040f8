"""Who holds a claim, and whether that holder is still alive.

An owner id is ``<host>:<pid>:<random>``. Leases make every claim lapse eventually; on the
same machine a worker can do better and see at once that a holder's process is gone (killed,
crashed), so a rerun after ``kill -9`` picks the work up immediately instead of waiting for
the lease to run out.
"""

from __future__ import annotations

import os
import socket
import uuid

__all__ = ["is_dead_local_owner", "new_owner"]


def new_owner() -> str:
    """A fresh owner id for this process."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


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
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
