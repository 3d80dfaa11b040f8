"""The pipeline facade: submit payloads, run workers, run one payload synchronously.

from cirrus.runtime import Pipeline

with Pipeline.for_project(find_project()) as pipeline:
    pipeline.submit_stream(open("payloads.ndjson"))
    counts = pipeline.drain(workers=4)
"""

from __future__ import annotations

import io
import json
import logging
import os
import queue
import stat
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

from cirrus._closing import Closing
from cirrus.queue import WorkQueue, open_queue
from cirrus.runtime.admission import Admission, refusal_text
from cirrus.runtime.intake import Document, keep_invalid, read_documents, unwrap
from cirrus.runtime.outcomes import Outcome, PayloadResult
from cirrus.runtime.settings import RuntimeSettings
from cirrus.runtime.worker import Worker
from cirrus.state import StateDB, open_state_db
from cirrus.storage.references import is_reference

if TYPE_CHECKING:
    from cirrus.project import Project

__all__ = ["Pipeline", "SubmitReport"]

logger = logging.getLogger(__name__)


def _text_or_none(data: Any) -> str | None:
    """``data`` as JSON text, when it can be written at all (for the invalid-input record)."""
    try:
        return json.dumps(data)
    except (ValueError, TypeError, RecursionError):
        return None


_QUIET_SECONDS = 0.05
"""A pipe silent this long has its payloads queued so far."""

_T = TypeVar("_T")


def with_pauses(items: Iterable[_T], quiet_seconds: float) -> Iterator[_T | None]:
    """``items``, with a ``None`` whenever the next one takes longer than ``quiet_seconds``.

    The items are read in a thread of their own, so that a blocking read (a pipe waiting
    for its writer) does not keep what was already read from being used.
    """
    pending: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()

    def read() -> None:
        try:
            for item in items:
                pending.put(("item", item))
        except BaseException as err:  # noqa: BLE001 - raised again in the caller's thread
            pending.put(("error", err))
        else:
            pending.put(("end", None))

    threading.Thread(target=read, name="cirrus-read", daemon=True).start()
    while True:
        try:
            kind, value = pending.get(timeout=quiet_seconds)
        except queue.Empty:
            yield None
            kind, value = pending.get()
        if kind == "end":
            return
        if kind == "error":
            raise value
        yield value


def _is_regular_file(stream: IO[str]) -> bool:
    try:
        return stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
    except (OSError, ValueError, AttributeError):
        return isinstance(stream, io.StringIO)  # in memory: everything is there already


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
        self._admission: Admission | None = None
        self._opening = threading.Lock()  # submission and workers may ask at once

    @classmethod
    def for_project(cls, project: Project | None, **overrides: Any) -> Pipeline:
        """The pipeline of a project, or of the working directory's embedded defaults."""
        from cirrus.project import Project

        project = project or Project.embedded(Path.cwd())
        return cls(RuntimeSettings.from_config(project.config).with_changes(**overrides), project)

    @property
    def db(self) -> StateDB:
        """The state database (opened on first use)."""
        with self._opening:
            if self._db is None:
                self._db = open_state_db(self.settings.state_db)
            return self._db

    @property
    def queue(self) -> WorkQueue:
        """The work queue (opened on first use)."""
        with self._opening:
            if self._queue is None:
                self._queue = open_queue(self.settings.queue_url)
            return self._queue

    @property
    def admission(self) -> Admission:
        """What this pipeline accepts: its limits, roots and workflows (the one validator)."""
        with self._opening:
            if self._admission is None:
                self._admission = Admission.for_pipeline(self.settings, self.project)
            return self._admission

    # -- submitting ------------------------------------------------------------------------

    def submit_documents(
        self,
        documents: Iterable[Document | None],
        chunk: int = 1000,
        *,
        stop: threading.Event | None = None,
    ) -> SubmitReport:
        """Queue payload documents; refused ones are kept under tmp/invalid/ and reported.

        Each document passes the pipeline's :attr:`admission` (a reference is read and
        admitted by the worker). Documents are queued a chunk at a time; a ``None`` among
        them queues what is gathered so far (the source went quiet). Once ``stop`` is set,
        what was gathered is queued and the rest is left unread.
        """
        admission = self.admission
        report = SubmitReport()
        bodies: list[str] = []
        seen: set[str] = set()  # the same id twice in one submission runs once
        for document in documents:
            if stop is not None and stop.is_set():
                break
            if document is None:
                if bodies:
                    self._send(bodies)
                    report.queued += len(bodies)
                    bodies = []
                continue
            if document.payload is None:
                url = keep_invalid(self.settings.payload_root, document.error, document.raw)
                report.rejected.append(f"{document.error} (kept at {url})")
                continue
            try:
                # strict JSON: NaN or Infinity in a payload given as objects is refused too
                body = document.text or json.dumps(document.payload, allow_nan=False)
                reference = is_reference(document.payload)
                payload_id = None if reference else admission.admit(document.payload).id
            except Exception as err:  # noqa: BLE001 - whatever a payload holds costs only itself
                reason = f"{document.where or 'input'}: {refusal_text(err)}"
                raw = document.raw or _text_or_none(document.payload)
                url = keep_invalid(self.settings.payload_root, reason, raw)
                report.rejected.append(f"{reason} (kept at {url})")
                continue
            if payload_id is not None:
                if payload_id in seen:
                    report.duplicates.append(payload_id)
                    continue
                seen.add(payload_id)
            bodies.append(body)
            if len(bodies) >= chunk:
                self._send(bodies)
                report.queued += len(bodies)
                bodies = []
        if bodies:
            self._send(bodies)
            report.queued += len(bodies)
        return report

    def _send(self, bodies: list[str]) -> None:
        """Queue payloads, waiting as long as another process keeps the queue locked.

        What was read from a pipe cannot be read again: giving up would lose it.
        """
        from cirrus._sqlite import is_locked
        from cirrus.errors import CirrusError

        while True:
            try:
                self.queue.send_many(bodies)
                return
            except CirrusError as err:
                if not is_locked(err):
                    raise
                logger.warning("%s; %d payload(s) read are kept and sent again", err, len(bodies))

    def submit_stream(
        self, stream: IO[str], name: str = "input", *, stop: threading.Event | None = None
    ) -> SubmitReport:
        """Queue every payload in a JSON / JSON array / NDJSON stream (envelopes opened).

        From a pipe or terminal, what was read is queued whenever the input pauses, so a
        feeder that writes payloads now and then sees each one queued at once. Once
        ``stop`` is set, what was read is queued and the rest is left unread.
        """
        documents: Iterable[Document | None] = read_documents(stream, name, self.settings.limits)
        if not _is_regular_file(stream):
            documents = with_pauses(documents, _QUIET_SECONDS)
        return self.submit_documents(documents, stop=stop)

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
        self,
        on_result: Callable[[PayloadResult], None] | None = None,
        *,
        more_coming: Callable[[], bool] | None = None,
        **overrides: Any,
    ) -> Counter[Outcome]:
        """Process everything queued, chained links included; returns outcome counts.

        With ``processes`` above 1 the work is shared by that many processes. While
        ``more_coming()`` answers True an empty queue is waited on.
        """
        worker = self.worker(on_result, **overrides)
        try:
            if worker.settings.processes > 1:
                from cirrus.runtime.processes import run_in_processes

                return run_in_processes(
                    worker.settings, self.project, worker, on_result, more_coming
                )
            return worker.run(until_empty=True, more_coming=more_coming)
        finally:
            worker.close()

    def process_stream(
        self,
        stream: IO[str],
        name: str = "input",
        on_result: Callable[[PayloadResult], None] | None = None,
        *,
        on_read: Callable[[SubmitReport], None] | None = None,
        **overrides: Any,
    ) -> tuple[SubmitReport, Counter[Outcome]]:
        """Submit a stream and process it at the same time, until everything is done.

        Processing starts with the first payloads instead of after the last one is read:
        a long file or a slow feeder on stdin gives results from the start. ``on_read`` is
        called with the submission's report once the whole stream is read (progress totals).

        Returns:
            What the submission accepted and refused, and the outcome counts.
        """
        submitting = threading.Event()
        submitting.set()
        stop_reading = threading.Event()
        outcome: dict[str, Any] = {}

        def submit() -> None:
            try:
                outcome["report"] = self.submit_stream(stream, name, stop=stop_reading)
                if on_read is not None:
                    on_read(outcome["report"])
            except BaseException as err:  # noqa: BLE001 - handed to the caller after the drain
                outcome["error"] = err
            finally:
                submitting.clear()

        thread = threading.Thread(target=submit, name="cirrus-submit", daemon=True)
        thread.start()
        # on Ctrl-C the reader is left behind: it may wait on a pipe forever
        try:
            counts = self.drain(on_result, more_coming=submitting.is_set, **overrides)
        except Exception:
            # the run failed (a database stayed locked, say): what was read from the input
            # is queued before the error is reported, for the next run; never lost
            stop_reading.set()
            thread.join()
            raise
        thread.join()
        if "error" in outcome:
            raise outcome["error"]
        return outcome["report"], counts

    def run_one(self, payload: Any) -> PayloadResult:
        """Run one payload now, with full state tracking; its chain is queued for later.

        Raises:
            PayloadError: the payload is refused (see :attr:`admission`); nothing is run.
        """
        documents = list(unwrap(payload))
        if len(documents) != 1:
            from cirrus.errors import PayloadError

            raise PayloadError("$", f"holds {len(documents)} payloads", "give exactly one")
        document = documents[0]
        if document.payload is None:
            from cirrus.errors import PayloadError

            raise PayloadError("$", str(document.error))
        if not is_reference(document.payload):  # a reference is read and admitted by the worker
            self.admission.admit(document.payload)
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
        return results[0] if results else PayloadResult(None, Outcome.ALREADY_PROCESSING)

    def close(self) -> None:
        """Close the state database and queue."""
        if self._db is not None:
            self._db.close()
        if self._queue is not None:
            self._queue.close()
