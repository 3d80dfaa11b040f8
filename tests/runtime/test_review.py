"""Known holes in the pipeline runtime, each pinned by a test that fails until it is fixed.

Every test drives the library API (Pipeline / Worker) on a real project in a temporary
folder with real SQLite files. A crash between two steps of the worker is simulated by
making one step raise ``_Crash`` (a BaseException, so nothing in the worker catches it),
which leaves the queue and the state database exactly as ``kill -9`` at that point would.
The second worker runs in this same process, so it waits for the short lease instead of
taking over a dead process's work at once.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

from cirrus.project import ProjectConfig, find_project
from cirrus.runtime import Pipeline, RuntimeSettings
from cirrus.state import State, open_state_db
from cirrus.state.sqlite import SQLiteStateDB
from cirrus.storage import read_bytes
from tests.runtime.conftest import Proj, item, payload, payload_id

LEASE = 0.3  # seconds; short so that a crashed worker's claims and messages come back fast


class _Crash(BaseException):
    """Stands for the process dying at this point."""


def _crash(*args: Any, **kwargs: Any) -> NoReturn:
    raise _Crash


@pytest.fixture
def open_pipeline(proj: Proj) -> Iterator[Any]:
    """Opens pipelines on the test project; all of them are closed at the end."""
    opened: list[Pipeline] = []

    def make(**overrides: Any) -> Pipeline:
        project = find_project(explicit=proj.root)
        pipeline = Pipeline.for_project(project, time_scale=0, **overrides)
        opened.append(pipeline)
        return pipeline

    yield make
    for pipeline in opened:
        pipeline.close()


def _runs(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def _logged(log: Path, **stamp: Any) -> dict[str, Any]:
    return {"stamp": {"exec_log": str(log), **stamp}}


def test_a_failed_payload_redelivered_after_its_decision_is_not_run_again(
    proj: Proj, open_pipeline: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = proj.root / "exec.log"
    first = open_pipeline(lease_seconds=LEASE)
    first.submit([payload(item("a", fail=True), tasks=_logged(log))])
    # the state is committed, then the process dies before deleting the message
    monkeypatch.setattr(first.queue, "delete_many", _crash)
    with pytest.raises(_Crash):
        first.drain()
    assert first.db.get(payload_id("a")).state is State.FAILED
    time.sleep(LEASE + 0.1)

    second = open_pipeline(lease_seconds=LEASE)
    second.drain()
    record = second.db.get(payload_id("a"))
    assert record.state is State.FAILED
    assert _runs(log) == [payload_id("a")], "one submission, one execution"
    assert len(record.executions) == 1


def test_a_replace_rerun_cut_short_after_the_claim_still_runs_the_new_input(
    proj: Proj, open_pipeline: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = proj.root / "exec.log"
    pid = payload_id("a", "stamp-only")
    pipeline = open_pipeline(lease_seconds=LEASE)
    pipeline.submit([payload(item("a"), workflow="stamp-only", tasks=_logged(log))])
    assert pipeline.drain() == {"succeeded": 1}

    # rerun with new content; the process dies between the claim and the start
    rerun = payload(item("a", version=2), workflow="stamp-only", tasks=_logged(log), replace=True)
    pipeline.submit([rerun])
    with monkeypatch.context() as patch:
        patch.setattr(pipeline.db, "start_many", _crash)
        with pytest.raises(_Crash):
            pipeline.drain()
    time.sleep(LEASE + 0.1)

    assert open_pipeline(lease_seconds=LEASE).drain() == {"succeeded": 1}
    record = pipeline.db.get(pid)
    assert record.state is State.SUCCEEDED
    assert len(_runs(log)) == 2, "the rerun asked for was never executed"
    assert len(record.executions) == 2
    output = json.loads(read_bytes(str(record.output_url)))
    assert output["features"][0]["properties"]["version"] == 2


def test_a_chain_link_sent_twice_after_a_crash_runs_once(
    proj: Proj, open_pipeline: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = proj.root / "exec.log"
    link = {
        "workflow": "three",
        "upload_options": {"path_template": "${collection}/${id}"},
        "tasks": _logged(log),
    }
    parent = payload(item("a", fail=True), workflow="stamp-only", tasks=_logged(log), chain=[link])
    first = open_pipeline(lease_seconds=LEASE)
    first.submit([parent])
    # the next link is queued, then the process dies before the parent's state is recorded
    monkeypatch.setattr(first.db, "finish_many", _crash)
    with pytest.raises(_Crash):
        first.drain()
    time.sleep(LEASE + 0.1)

    second = open_pipeline(lease_seconds=LEASE)
    second.drain()
    child = second.db.get(payload_id("a", "three"))
    assert child.state is State.FAILED
    assert _runs(log).count(payload_id("a", "three")) == 1, "the link ran once per copy"
    assert len(child.executions) == 1


def test_the_same_id_twice_in_one_submission_runs_once(proj: Proj, open_pipeline: Any) -> None:
    log = proj.root / "exec.log"
    failing = payload(item("a", fail=True), tasks=_logged(log))
    # a submission larger than one batch (batch_size 200 by default) with the copy far apart
    pipeline = open_pipeline(batch_size=1)
    report = pipeline.submit([failing, payload(item("b"), tasks=_logged(log)), failing])
    assert report.duplicates == [payload_id("a")]
    counts = pipeline.drain()
    assert _runs(log).count(payload_id("a")) == 1
    assert counts == {"failed": 1, "succeeded": 1}


def test_run_one_keeps_its_claim_while_a_long_execution_runs(
    proj: Proj, open_pipeline: Any
) -> None:
    log = proj.root / "exec.log"
    lease = 0.9  # the heartbeat renews every max(0.5 s, lease / 3)
    one = payload(item("a"), workflow="stamp-only", tasks=_logged(log, sleep_ms=2000))
    pipeline = open_pipeline(lease_seconds=lease)
    outcome: dict[str, Any] = {}
    runner = threading.Thread(target=lambda: outcome.update(result=pipeline.run_one(one)))
    runner.start()
    try:
        time.sleep(lease + 0.4)  # still running, past its first lease
        # `cirrus worker` running beside `cirrus run-workflow` on the same project
        open_pipeline(lease_seconds=lease).drain()
    finally:
        runner.join()
    assert outcome["result"].outcome == "succeeded"
    assert _runs(log) == [payload_id("a", "stamp-only")], "executed by both workers"
    assert len(pipeline.db.get(payload_id("a", "stamp-only")).executions) == 1


def test_a_payload_with_a_malformed_id_is_rejected_and_the_batch_goes_on(
    proj: Proj, open_pipeline: Any
) -> None:
    bad = payload(item("a"), workflow="stamp-only")
    bad["id"] = "not-a-payload-id"
    pipeline = open_pipeline()
    pipeline.submit([bad, payload(item("b"), workflow="stamp-only")])
    counts = pipeline.drain()  # raises PayloadError from claim_many: a poison message
    assert counts == {"rejected": 1, "succeeded": 1}
    assert pipeline.queue.counts() == (0, 0)


def test_an_item_id_that_would_climb_out_of_the_payload_root_is_rejected(
    proj: Proj, open_pipeline: Any
) -> None:
    pipeline = open_pipeline()
    pipeline.submit([payload(item(".."), workflow="stamp-only")])
    counts = pipeline.drain()  # raises PathEscapeError from Worker._start
    assert set(counts) <= {"rejected", "invalid"}
    assert pipeline.db.query(state=State.CLAIMED).records == []
    assert pipeline.queue.counts() == (0, 0)


def test_a_reference_that_can_never_be_read_is_rejected(proj: Proj, open_pipeline: Any) -> None:
    pipeline = open_pipeline()
    pipeline.submit([{"url": "ftp://example.com/payload.json"}])
    worker = pipeline.worker()
    try:
        messages = pipeline.queue.receive(10, visibility_seconds=60, owner=worker.owner)
        results = worker.handle(messages)
    finally:
        worker.close()
    # `cirrus process --wait` would otherwise never end: the message stays in flight
    assert [result.outcome for result in results] == ["rejected"]
    assert pipeline.queue.counts() == (0, 0)


def test_a_payload_that_does_not_succeed_publishes_nothing(proj: Proj, open_pipeline: Any) -> None:
    link = {"workflow": "stamp-only", "chain_filter": "@@@ not a filter"}
    pipeline = open_pipeline()
    report = pipeline.submit([payload(item("a"), workflow="stamp-only", chain=[link])])
    if report.queued:
        counts = pipeline.drain()
        assert "succeeded" not in counts
        pid = payload_id("a", "stamp-only")
        assert counts == {"rejected": 1}, "a bad chain_filter is refused before anything runs"
        record = pipeline.db.get(pid)
        assert record is None or record.state is not State.SUCCEEDED
        assert proj.published == [], "items of a payload that did not succeed were announced"
        assert proj.outputs(pid) == []


@pytest.mark.parametrize("state_db", ["sqlite://state.db", "sqlite://rel/state.db"])
def test_the_queue_sits_beside_a_relative_sqlite_state_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, state_db: str
) -> None:
    monkeypatch.chdir(tmp_path)
    config = ProjectConfig.embedded(tmp_path, env={"CIRRUS_STATE_DB": state_db})
    queue = RuntimeSettings.from_config(config).queue  # sqlite://state.db: ValueError
    database = open_state_db(config.state_db)
    try:
        assert isinstance(database, SQLiteStateDB)
        # sqlite://rel/state.db opens rel/state.db; its queue went to /queue.db
        assert Path(queue.removeprefix("sqlite://")).absolute().parent == database.path.parent
    finally:
        database.close()


def test_messages_held_by_a_worker_that_died_are_taken_over_while_running(
    proj: Proj, open_pipeline: Any
) -> None:
    import subprocess
    import sys

    from cirrus.runtime.owners import new_owner

    log = proj.root / "exec.log"
    pipeline = open_pipeline()  # the default lease: 900 s
    pipeline.submit([payload(item(f"d{i}"), tasks=_logged(log)) for i in range(3)])
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    host = new_owner().split(":")[0]
    # a worker process (now gone) had received every message, as a --processes child would
    held = pipeline.queue.receive(10, visibility_seconds=900, owner=f"{host}:{child.pid}:dead")
    assert len(held) == 3
    worker = pipeline.worker()
    stop = threading.Event()
    timer = threading.Timer(20, stop.set)  # bounded: without the takeover this would wait 900 s
    timer.start()
    try:
        worker.counts.clear()
        # skip the start-up release, so only the idle loop can find the dead receiver
        worker.release_dead_receivers = (  # type: ignore[method-assign]
            _once_noop(worker.release_dead_receivers)
        )
        counts = worker.run(until_empty=True, stop=stop)
    finally:
        timer.cancel()
        worker.close()
    assert counts == {"succeeded": 3}
    assert sorted(_runs(log)) == [payload_id(f"d{i}") for i in range(3)]


def _once_noop(release: Any) -> Any:
    calls = {"n": 0}

    def wrapped() -> int:
        calls["n"] += 1
        return 0 if calls["n"] == 1 else int(release())

    return wrapped
