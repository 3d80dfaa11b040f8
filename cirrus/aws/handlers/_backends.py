"""What every pipeline function opens once per Lambda container: store, state, queue, announcer."""

from __future__ import annotations

from dataclasses import dataclass

from cirrus.aws.environment import AwsSettings
from cirrus.queue import WorkQueue, open_queue
from cirrus.runtime.publish import Announcer
from cirrus.state import StateDB, open_state_db
from cirrus.storage import ObjectStore, open_store

__all__ = ["FunctionBackends"]


@dataclass
class FunctionBackends:
    """The backends a function works with.

    Attributes:
        store: the payload store.
        announcer: where items and workflow events are announced.
        db: the state database, announcing every event it records.
        queue: the process queue.
    """

    store: ObjectStore
    announcer: Announcer
    db: StateDB
    queue: WorkQueue

    @classmethod
    def open(
        cls,
        settings: AwsSettings,
        *,
        db: StateDB | None = None,
        queue: WorkQueue | None = None,
        store: ObjectStore | None = None,
    ) -> FunctionBackends:
        """Open what is not given, from the settings."""
        runtime = settings.runtime
        store = store or open_store(runtime.payload_root)
        announcer = Announcer.from_settings(
            runtime, dead_letters=store, base_workflow_arn=settings.base_workflow_arn
        )
        # every step records its events through this database, which announces them
        watched = announcer.watch(db or open_state_db(runtime.state_db))
        return cls(store, announcer, watched, queue or open_queue(runtime.queue))
