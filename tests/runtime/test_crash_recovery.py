"""A worker that dies between two steps of a batch: the next one loses nothing, repeats nothing.

Each test runs a worker whose state database or queue is a stand-in (see ``Standin``) that
fails at one step. ``Crash`` is a BaseException, so nothing in the worker catches it: the
queue and the state database are left exactly as ``kill -9`` at that point would leave
them. The next worker runs in this same process, so it waits for the short lease instead
of taking over a dead process's work at once (``test_durability.py`` kills real processes).
"""

from __future__ import annotations

import json
import time
from typing import Any, NoReturn

import pytest

from cirrus.errors import StateError
from cirrus.state import EventType, State
from cirrus.storage import read_bytes
from tests.runtime.conftest import (
    Proj,
    Standin,
    item,
    logged,
    payload,
    payload_id,
    run_worker,
    runs,
)

LEASE = 0.3  # seconds; short so that a crashed worker's claims and messages come back fast


class Crash(BaseException):
    """Stands for the process dying at this point."""


def crash(*args: Any, **kwargs: Any) -> NoReturn:
    raise Crash


def test_a_failed_payload_redelivered_after_its_decision_is_not_run_again(
    proj: Proj, open_pipeline: Any
) -> None:
    log = proj.root / "exec.log"
    first = open_pipeline(lease_seconds=LEASE)
    first.submit([payload(item("a", fail=True), tasks=logged(log))])
    # the state is committed, then the process dies before deleting the message
    with pytest.raises(Crash):
        run_worker(first, queue=Standin(first.queue, delete_many=crash))
    assert first.db.get(payload_id("a")).state is State.FAILED
    time.sleep(LEASE + 0.1)

    second = open_pipeline(lease_seconds=LEASE)
    second.drain()
    record = second.db.get(payload_id("a"))
    assert record.state is State.FAILED
    assert runs(log) == [payload_id("a")], "one submission, one execution"
    assert len(record.executions) == 1


def test_a_replace_rerun_cut_short_after_the_claim_still_runs_the_new_input(
    proj: Proj, open_pipeline: Any
) -> None:
    log = proj.root / "exec.log"
    pid = payload_id("a", "stamp-only")
    pipeline = open_pipeline(lease_seconds=LEASE)
    pipeline.submit([payload(item("a"), workflow="stamp-only", tasks=logged(log))])
    assert pipeline.drain() == {"succeeded": 1}

    # rerun with new content; the process dies between the claim and the start
    rerun = payload(item("a", version=2), workflow="stamp-only", tasks=logged(log), replace=True)
    pipeline.submit([rerun])
    with pytest.raises(Crash):
        run_worker(pipeline, state_db=Standin(pipeline.db, start_many=crash))
    time.sleep(LEASE + 0.1)

    assert open_pipeline(lease_seconds=LEASE).drain() == {"succeeded": 1}
    record = pipeline.db.get(pid)
    assert record.state is State.SUCCEEDED
    assert len(runs(log)) == 2, "the rerun asked for was never executed"
    assert len(record.executions) == 2
    output = json.loads(read_bytes(str(record.output_url)))
    assert output["features"][0]["properties"]["version"] == 2


def test_a_chain_link_sent_twice_after_a_crash_runs_once(proj: Proj, open_pipeline: Any) -> None:
    log = proj.root / "exec.log"
    link = {
        "workflow": "three",
        "upload_options": {"path_template": "${collection}/${id}"},
        "tasks": logged(log),
    }
    parent = payload(item("a", fail=True), workflow="stamp-only", tasks=logged(log), chain=[link])
    first = open_pipeline(lease_seconds=LEASE)
    first.submit([parent])
    # the next link is queued, then the process dies before the parent's state is recorded
    with pytest.raises(Crash):
        run_worker(first, state_db=Standin(first.db, finish_many=crash))
    time.sleep(LEASE + 0.1)

    second = open_pipeline(lease_seconds=LEASE)
    second.drain()
    child = second.db.get(payload_id("a", "three"))
    assert child.state is State.FAILED
    assert runs(log).count(payload_id("a", "three")) == 1, "the link ran once per copy"
    assert len(child.executions) == 1


def test_a_worker_whose_commit_fails_runs_no_further_executions(
    proj: Proj, open_pipeline: Any
) -> None:
    """A wave's commit fails (say the state database stays locked): the worker stops...

    ...only after running every other execution of its batch, whose outcomes it then
    throws away. Meanwhile ``_handle`` has already emptied the heartbeat's in-flight sets,
    so none of those claims or messages is renewed: past the lease another worker claims
    and runs the same payloads while these are still running.

    Ten executions of 0.4 s on two threads take 2 s; the first wave is committed after 1 s.
    """

    def locked(*args: Any, **kwargs: Any) -> NoReturn:
        raise StateError("state database stayed locked")

    log = proj.root / "exec.log"
    tasks = logged(log, sleep_ms=400)
    pipeline = open_pipeline()
    pipeline.submit([payload(item(f"c{k}"), workflow="stamp-only", tasks=tasks) for k in range(10)])
    with pytest.raises(StateError):
        run_worker(pipeline, state_db=Standin(pipeline.db, finish_many=locked), workers=2)
    executed = runs(log)
    assert len(executed) < 10, f"{len(executed)} executions ran after the batch had failed"


def test_a_resubmitted_payload_logs_already_succeeded_once_across_a_crash(
    proj: Proj, open_pipeline: Any
) -> None:
    """``_mark_started`` writes every event gathered so far, skip events included.

    The ALREADY_SUCCEEDED (or DUPLICATE_ID_ENCOUNTERED...) event of a message is now logged
    before the batch's executions run, while the message is deleted only with the first
    wave's commit. A worker that dies in between (here: its first commit fails) leaves the
    message to come back, and the same submission is logged as skipped twice. Before,
    these events were written with the commit that deletes their messages.
    """

    def died(*args: Any, **kwargs: Any) -> NoReturn:
        raise StateError("the worker died here")

    done, other = (
        payload(item("done"), workflow="stamp-only"),
        payload(item("new"), workflow="stamp-only"),
    )
    pipeline = open_pipeline(lease_seconds=1)
    pipeline.submit([done])
    assert pipeline.drain(workers=1)["succeeded"] == 1
    pipeline.submit([done, other])  # the first again, beside a new one
    with pytest.raises(StateError):
        run_worker(pipeline, state_db=Standin(pipeline.db, finish_many=died), workers=1)
    counts = pipeline.drain(workers=1)  # the messages come back after the lease
    assert counts["already_succeeded"] == 1
    skipped = [
        event
        for event in pipeline.db.events(payload_id("done", "stamp-only"))
        if event.event_type is EventType.ALREADY_SUCCEEDED
    ]
    assert len(skipped) == 1, f"one resubmission logged as skipped {len(skipped)} times"
