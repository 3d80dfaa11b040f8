"""The worker and pipeline at their edges: races, failures mid-batch, crashes between steps."""

from __future__ import annotations

import contextlib
import functools
import io
import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import cirrus.runtime.pipeline as pipeline_module
import cirrus.runtime.worker as worker_module
from cirrus.errors import StateError
from cirrus.project import find_project
from cirrus.runtime import Pipeline
from cirrus.runtime.jobs import execution_key, execution_name
from cirrus.runtime.waves import run_in_waves
from cirrus.state import EventType
from cirrus.storage import open_store
from tests.runtime.conftest import Proj, item, payload, payload_id


def _pipeline(proj: Proj, **overrides: Any) -> Pipeline:
    return Pipeline.for_project(find_project(explicit=proj.root), time_scale=0, **overrides)


class _GatedInput(io.StringIO):
    """In-memory input whose lines come only once ``gate`` is set."""

    def __init__(self, text: str, gate: threading.Event) -> None:
        super().__init__(text)
        self.gate = gate

    def __next__(self) -> str:
        self.gate.wait(10)
        return super().__next__()

    def read(self, size: int | None = -1) -> str:
        self.gate.wait(10)
        return super().read(size)


def test_process_stream_runs_a_payload_submitted_while_the_worker_looked_at_an_empty_queue(
    proj: Proj,
) -> None:
    """Worker.run asks ``queue.counts()`` and only then ``more_coming()``.

    When the submission sends its last payloads and ends between those two calls, the
    worker sees an empty queue (stale counts) and no more input coming, and leaves: the
    payload stays queued and ``process_stream`` (``cirrus process --wait``) reports it
    queued but never run. Here the submission starts right after the first empty count,
    as a thread switch at that point would do.
    """
    gate = threading.Event()
    pipeline = _pipeline(proj)
    with pipeline:
        queue = pipeline.queue
        real_counts = queue.counts

        def counts() -> tuple[int, int]:
            result = real_counts()
            if not gate.is_set():
                gate.set()  # the submission runs and finishes now
                for thread in threading.enumerate():
                    if thread.name == "cirrus-submit":
                        thread.join(10)
            return result

        queue.counts = counts  # type: ignore[method-assign]
        text = json.dumps(payload(item("late"), workflow="stamp-only")) + "\n"
        report, outcomes = pipeline.process_stream(_GatedInput(text, gate), workers=1)
        left = real_counts()
    assert report.queued == 1
    assert left == (0, 0), "the submitted payload was left in the queue"
    assert outcomes["succeeded"] == 1


def test_process_stream_submits_to_the_queue_its_worker_drains(
    proj: Proj, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``Pipeline.queue`` opens the queue on first use without a lock.

    ``process_stream`` touches it from the submitting thread and from the draining one
    at the same time; when both find it unopened, each opens its own. With a
    ``memory://`` queue the payloads go to one queue and the worker drains the other:
    nothing runs, and ``process_stream`` returns as if all was done. (With a SQLite queue
    the second one is just never closed.) Here opening the queue takes a moment, so the
    two threads meet in it.
    """

    real_open = pipeline_module.open_queue
    both_in = threading.Barrier(2)

    def slow_open(url: str) -> Any:
        with contextlib.suppress(threading.BrokenBarrierError):
            both_in.wait(2)
        return real_open(url)

    monkeypatch.setattr(pipeline_module, "open_queue", slow_open)
    pipeline = _pipeline(proj, queue="memory://", state_db="memory://")
    text = json.dumps(payload(item("mem"), workflow="stamp-only")) + "\n"
    with pipeline:
        report, outcomes = pipeline.process_stream(io.StringIO(text), workers=1)
    assert report.queued == 1
    assert outcomes["succeeded"] == 1


def test_run_in_waves_starts_nothing_more_once_its_caller_stopped() -> None:
    """Closing the wave iterator (an error or Ctrl-C in the caller) leaves its threads going.

    The threads keep taking items from ``pending`` until it is empty; the batch's
    executions used to go through ``pool.map``, whose iterator cancels what has not
    started when it is closed.
    """

    ran: list[int] = []

    def run(number: int) -> None:
        time.sleep(0.02)
        ran.append(number)

    with ThreadPoolExecutor(2) as pool:
        waves = run_in_waves(list(range(40)), run, pool, threads=2, wave_seconds=0.05)
        next(waves)
        waves.close()  # the caller failed while handling the first wave
    assert len(ran) < 40, "every item ran after the caller had stopped"


def test_a_worker_whose_commit_fails_runs_no_further_executions(
    proj: Proj, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wave's commit fails (say the state database stays locked): the worker stops...

    ...only after running every other execution of its batch, whose outcomes it then
    throws away. Meanwhile ``_handle`` has already emptied the heartbeat's in-flight sets,
    so none of those claims or messages is renewed: past the lease another worker claims
    and runs the same payloads while these are still running.
    """

    monkeypatch.setattr(
        worker_module, "run_in_waves", functools.partial(run_in_waves, wave_seconds=0.1)
    )
    log = tmp_path / "exec.log"
    tasks = {"stamp": {"sleep_ms": 60, "exec_log": str(log)}}
    pipeline = _pipeline(proj)
    with pipeline:
        pipeline.submit(
            [payload(item(f"c{k}"), workflow="stamp-only", tasks=tasks) for k in range(20)]
        )
        worker = pipeline.worker(workers=2)

        def failing_commit(batch: Any) -> None:
            raise StateError("state database stayed locked")

        worker.update_state.commit = failing_commit  # type: ignore[method-assign]
        try:
            with pytest.raises(StateError):
                worker.run(until_empty=True)
        finally:
            worker.close()
    executed = log.read_text().splitlines()
    assert len(executed) < 20, f"{len(executed)} executions ran after the batch had failed"


def test_a_resubmitted_payload_logs_already_succeeded_once_across_a_crash(proj: Proj) -> None:
    """``_mark_started`` writes every event gathered so far, skip events included.

    The ALREADY_SUCCEEDED (or DUPLICATE_ID_ENCOUNTERED...) event of a message is now logged
    before the batch's executions run, while the message is deleted only with the first
    wave's commit. A worker that dies in between (here: its first commit fails) leaves the
    message to come back, and the same submission is logged as skipped twice. Before,
    these events were written with the commit that deletes their messages.
    """

    done, other = (
        payload(item("done"), workflow="stamp-only"),
        payload(item("new"), workflow="stamp-only"),
    )
    pipeline = _pipeline(proj, lease_seconds=1)
    with pipeline:
        pipeline.submit([done])
        assert pipeline.drain(workers=1)["succeeded"] == 1
        pipeline.submit([done, other])  # the first again, beside a new one
        worker = pipeline.worker(workers=1)

        def crash(batch: Any) -> None:
            raise StateError("the worker died here")

        worker.update_state.commit = crash  # type: ignore[method-assign]
        try:
            with pytest.raises(StateError):
                worker.run(until_empty=True)
        finally:
            worker.close()
        counts = pipeline.drain(workers=1)  # the messages come back after the lease
        assert counts["already_succeeded"] == 1
        skipped = [
            event
            for event in pipeline.db.events(payload_id("done", "stamp-only"))
            if event.event_type is EventType.ALREADY_SUCCEEDED
        ]
    assert len(skipped) == 1, f"one resubmission logged as skipped {len(skipped)} times"


def test_the_heartbeat_does_not_report_lost_claims_for_payloads_already_finished(
    proj: Proj, caplog: pytest.LogCaptureFixture
) -> None:
    """A resumed payload concluded from its stored output ("adopted") is committed with
    the first wave, but only the wave's own jobs leave ``_in_flight_claims``: until the
    batch ends, every heartbeat tries to renew the finished record and logs "lost the
    claim on 1 payload(s)" for a payload that succeeded.
    """

    adopt = payload(item("adopt"), workflow="stamp-only")
    adopt_id = payload_id("adopt", "stamp-only")
    slow = payload(item("slow"), workflow="stamp-only", tasks={"stamp": {"sleep_ms": 2000}})
    pipeline = _pipeline(proj, lease_seconds=0.6)
    with pipeline:
        # a worker of another machine claimed and ran "adopt", wrote its output, and died
        db = pipeline.db
        gone = "elsewhere:1:.deadbeef"
        db.claim_many([(adopt_id, False)], owner=gone, lease_seconds=0.6)
        execution = execution_name(adopt_id, 1)
        db.start_many([(adopt_id, execution)], owner=gone, lease_seconds=1e-6)
        time.sleep(0.01)  # its lease is over
        output = {**adopt, "id": adopt_id}
        store = open_store(pipeline.settings.payload_root)
        store.put(execution_key(adopt_id, execution, "output.json"), json.dumps(output).encode())
        pipeline.submit([adopt, payload(item("fast"), workflow="stamp-only"), slow])
        with caplog.at_level(logging.WARNING, logger="cirrus.runtime.worker"):
            counts = pipeline.drain(workers=2)
    assert counts["succeeded"] == 3
    lost = [r.getMessage() for r in caplog.records if "lost the claim" in r.getMessage()]
    assert lost == []
