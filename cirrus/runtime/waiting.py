"""Executions waiting for a task token, kept so that a restarted worker resumes them.

When a workflow's top-level ``.waitForTaskToken`` Task state starts waiting, the engine
hands over a snapshot of the execution; it is kept in the state database's file (see
:mod:`cirrus.state.task_tokens`) until the execution ends. A worker that dies meanwhile
leaves the snapshot behind: the next worker to claim the payload resumes that execution
where it waited, under the same name and token, instead of running it again.

Only a SQLite state database keeps them; with another backend executions wait in memory
and a dead worker's execution runs again, as any other does.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from cirrus.state.task_tokens import SQLiteTaskTokens, open_task_tokens

__all__ = ["WaitingExecutions"]


class WaitingExecutions:
    """The snapshots of waiting executions, and the token store they wait on.

    Args:
        state_db: the state database URL.
    """

    def __init__(self, state_db: str) -> None:
        self.store: SQLiteTaskTokens | None = open_task_tokens(state_db)
        self._kept: set[str] = set()  # executions with a snapshot to drop when they end
        self._lock = threading.Lock()

    def resumable(self, execution: str) -> dict[str, Any] | None:
        """The snapshot ``execution`` left when it waited and never ended, or None."""
        if self.store is None:
            return None
        snapshot: dict[str, Any] | None = self.store.waiting(execution)
        if snapshot is not None:
            with self._lock:
                self._kept.add(execution)
        return snapshot

    def on_wait(self, payload_id: str, execution: str) -> Callable[[dict[str, Any]], None] | None:
        """What the engine calls when ``execution`` starts waiting (None: nothing kept)."""
        store = self.store
        if store is None:
            return None

        def keep(snapshot: dict[str, Any]) -> None:
            store.save_waiting(execution, payload_id, snapshot)
            with self._lock:
                self._kept.add(execution)

        return keep

    def ended(self, execution: str) -> None:
        """``execution`` ended: it will not be resumed (most never waited: nothing to do)."""
        with self._lock:
            if execution not in self._kept:
                return
            self._kept.discard(execution)
        if self.store is not None:
            self.store.drop_waiting(execution)
