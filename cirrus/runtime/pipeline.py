"""The pipeline facade: submit payloads, run workers, run one payload synchronously.

from cirrus.runtime import Pipeline

with Pipeline.for_project(find_project()) as pipeline:
    pipeline.submit_stream(open("payloads.ndjson"))
    counts = pipeline.drain(workers=4)
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from cirrus._closing import Closing
from cirrus.runtime.intake import Document, keep_invalid, read_documents, unwrap
from cirrus.runtime.queue import WorkQueue, open_queue
from cirrus.runtime.settings import RuntimeSettings
from cirrus.runtime.worker import PayloadResult, Worker
from cirrus.state import StateDB, open_state_db

if TYPE_CHECKING:
    from cirrus.project import Project

__all__ = ["Pipeline", "SubmitReport"]


def _payload_id_or_none(data: dict[str, Any]) -> str | None:
    """The id of a payload; None when it cannot be told yet (the worker reports why)."""
    from cirrus.errors import CirrusError
    from cirrus.payload import Payload

    try:
        return Payload.from_dict(data, copy_data=False).id
    except CirrusError:
        return None


class SubmitReport:
    """What a submission accepted and refused."""

    def __init__(self) -> None:
        self.queued = 0
        self.rejected: list[str] = []
        self.duplicates: list[str] = []
        """Payload ids given more than once in this submission (only the first is queued)."""


class Pipeline(Closing):
    """One project's pipeline: its state database, work queue and stores."""

    def __init__(self, settings: RuntimeSettings, project: Project | None = None) -> None:
        self.settings = settings
        self.project = project
        self._db: StateDB | None = None
        self._queue: WorkQueue | None = None

    @classmethod
    def for_project(cls, project: Project | None, **overrides: Any) -> Pipeline:
        """The pipeline of a project, or of the working directory's embedded defaults."""
        from cirrus.project import Project

        project = project or Project.embedded(Path.cwd())
        return cls(RuntimeSettings.from_config(project.config).with_changes(**overrides), project)

    @property
    def db(self) -> StateDB:
        """The state database (opened on first use)."""
        if self._db is None:
            self._db = open_state_db(self.settings.state_db)
        return self._db

    @property
    def queue(self) -> WorkQueue:
        """The work queue (opened on first use)."""
        if self._queue is None:
            self._queue = open_queue(self.settings.queue)
        return self._queue

    # -- submitting ------------------------------------------------------------------------

    def submit_documents(self, documents: Iterable[Document], chunk: int = 1000) -> SubmitReport:
        """Queue payload documents; unreadable ones are kept under tmp/invalid/ and reported."""
        report = SubmitReport()
        bodies: list[str] = []
        seen: set[str] = set()  # the same id twice in one submission runs once
        for document in documents:
            if document.payload is None:
                url = keep_invalid(self.settings.payload_root, document.error, document.raw)
                report.rejected.append(f"{document.error} (kept at {url})")
                continue
            payload_id = _payload_id_or_none(document.payload)
            if payload_id is not None:
                if payload_id in seen:
                    report.duplicates.append(payload_id)
                    continue
                seen.add(payload_id)
            bodies.append(json.dumps(document.payload))
            if len(bodies) >= chunk:
                self.queue.send_many(bodies)
                report.queued += len(bodies)
                bodies = []
        if bodies:
            self.queue.send_many(bodies)
            report.queued += len(bodies)
        return report

    def submit_stream(self, stream: IO[str], name: str = "input") -> SubmitReport:
        """Queue every payload in a JSON / JSON array / NDJSON stream (envelopes opened)."""
        return self.submit_documents(read_documents(stream, name))

    def submit(self, payloads: Iterable[Any]) -> SubmitReport:
        """Queue payload dicts (or envelopes, or references)."""
        return self.submit_documents(
            document for payload in payloads for document in unwrap(payload)
        )

    # -- running ---------------------------------------------------------------------------

    def worker(
        self, on_result: Callable[[PayloadResult], None] | None = None, **overrides: Any
    ) -> Worker:
        """A worker on this pipeline's queue and database."""
        settings = self.settings.with_changes(**overrides)
        return Worker(
            settings, self.project, on_result=on_result, state_db=self.db, queue=self.queue
        )

    def drain(
        self, on_result: Callable[[PayloadResult], None] | None = None, **overrides: Any
    ) -> Counter[str]:
        """Process everything queued, chained links included; returns outcome counts.

        With ``processes`` above 1 the work is shared by that many processes.
        """
        worker = self.worker(on_result, **overrides)
        try:
            if worker.settings.processes > 1:
                from cirrus.runtime.processes import run_in_processes

                return run_in_processes(worker.settings, self.project, worker, on_result)
            return worker.run(until_empty=True)
        finally:
            worker.close()

    def run_one(self, payload: Any) -> PayloadResult:
        """Run one payload now, with full state tracking; its chain is queued for later."""
        documents = list(unwrap(payload))
        if len(documents) != 1:
            from cirrus.errors import PayloadError

            raise PayloadError("$", f"holds {len(documents)} payloads", "give exactly one")
        document = documents[0]
        if document.payload is None:
            from cirrus.errors import PayloadError

            raise PayloadError("$", str(document.error))
        worker = Worker(self.settings, self.project, state_db=self.db, queue=self.queue)
        try:
            # the message goes into the durable queue, received by us at once: if this
            # process dies, a worker picks it up when the lease runs out
            message = self.queue.take(
                json.dumps(document.payload),
                visibility_seconds=self.settings.lease_seconds,
                owner=worker.owner,
            )
            results = worker.handle([message])
        finally:
            worker.close()
        return results[0] if results else PayloadResult(None, "already_processing")

    def close(self) -> None:
        """Close the state database and queue."""
        if self._db is not None:
            self._db.close()
        if self._queue is not None:
            self._queue.close()
