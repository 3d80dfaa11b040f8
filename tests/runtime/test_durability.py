"""Durability: a runner killed with SIGKILL loses nothing, and two runners never share work.

What the design promises (cirrus/runtime/worker.py): a queued message is deleted only after
its payload's decision is committed, claims carry a lease renewed while the execution runs,
and a resumed payload whose output was already stored is finished from that output. So
after a kill and a second run every payload ends in exactly one terminal state with exactly
one ``output.json``; an execution cut short by the kill may run again (a new execution of
the same payload, at-least-once *execution*), and an announcement made just before the kill
may be made again (at-least-once *publishing*), but the state, the stored output and the
catalog item exist once.

A runner started right after the kill takes over at once what the dead process (same
machine, process gone) held, and a runner already running does so when it next finds the
queue idle; a runner started after the lease ran out recovers the expired claims instead.
The project's ``cirrus.yml`` sets ``lease_seconds: 2`` so that the last way takes seconds
too.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from cirrus.runtime.owners import new_owner
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

LEASE_SECONDS = 2  # set in the test project's cirrus.yml


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def _wait_for_lines(path: Path, count: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = len(_lines(path))
        if seen >= count:
            return seen
        time.sleep(0.05)
    raise AssertionError(f"{path} reached only {len(_lines(path))} lines in {timeout} s")


def _queued_messages(proj: Proj) -> int:
    with sqlite3.connect(proj.cirrus_dir / "queue.db") as connection:
        return int(connection.execute("SELECT COUNT(*) FROM messages").fetchone()[0])


def _many(proj: Proj, count: int, log: Path, sleep_ms: int, **options: Any) -> list[str]:
    tasks = {"stamp": {"sleep_ms": sleep_ms, "exec_log": str(log)}}
    ids = [f"i{n:04d}" for n in range(count)]
    proj.write_payloads(payload(item(i), tasks=tasks, **options) for i in ids)
    return ids


def _kill_mid_run(proj: Proj, log: Path, after: int, *, outwait_lease: bool) -> int:
    """Start ``cirrus process in.ndjson --wait``, SIGKILL it once ``after`` executions began.

    With ``outwait_lease`` wait until the dead runner's leases ran out, so the next runner
    recovers through lease expiry instead of noticing at once that the holder is dead.

    Returns:
        How many executions had begun when it died.
    """
    runner = proj.popen("process", "in.ndjson", "--wait", start_new_session=True)
    try:
        _wait_for_lines(log, after, timeout=120)
        assert runner.poll() is None, "the run ended before it could be killed"
        runner.send_signal(signal.SIGKILL)
    finally:
        runner.communicate(timeout=30)
    assert runner.returncode == -signal.SIGKILL
    if outwait_lease:
        time.sleep(LEASE_SECONDS + 0.5)
    return len(_lines(log))


def test_sigkill_mid_run_then_rerun_finishes_every_payload_once(proj: Proj) -> None:
    log = proj.root / "exec.log"
    ids = _many(proj, 500, log, sleep_ms=4)
    expected = {payload_id(i) for i in ids}

    # rerun at once: the new runner sees the dead process's messages and claims and takes
    # them over without waiting for their leases
    executed_before = _kill_mid_run(proj, log, after=150, outwait_lease=False)

    finisher = proj.cirrus("worker", "--until-empty", timeout=300)
    counts = finisher.json()
    assert counts.get("succeeded", 0) > 0

    # every payload ended once, in a terminal state; nothing is held or queued
    records = proj.records()
    assert set(records) == expected
    assert Counter(r["state"] for r in records.values()) == {"SUCCEEDED": 500}
    assert proj.records("--state", "CLAIMED") == {}
    assert proj.records("--state", "PROCESSING") == {}
    assert all(r["claim_owner"] is None for r in records.values())
    assert _queued_messages(proj) == 0

    # exactly one stored output per payload, the one the record points at
    for pid, record in records.items():
        outputs = [k for k in proj.stored(f"executions/{pid}") if k.endswith("/output.json")]
        assert len(outputs) == 1, f"{pid} has outputs {outputs}"
        assert record["output_url"] == proj.payload_url(f"executions/{pid}/{outputs[0]}")
        assert proj.execution_names(pid) == record["executions"]

    # every payload executed at least once; re-executions only for work cut short
    runs = Counter(_lines(log))
    assert set(runs) == expected
    rerun = sorted(pid for pid, n in runs.items() if n > 1)
    # a payload runs again only under a new execution name: no execution ran twice
    assert all(runs[pid] <= len(records[pid]["executions"]) for pid in records)

    # every item is in the catalog and announced; announcements are at-least-once
    catalog = list((proj.cirrus_dir / "data" / "test").glob("*/*.json"))
    assert len(catalog) == 500
    announced = Counter(line["item"]["id"] for line in proj.published)
    assert set(announced) == set(ids)
    duplicates = {key: n for key, n in announced.items() if n > 1}
    print(
        f"killed after {executed_before} executions; finisher {counts}; "
        f"{len(rerun)} payloads executed again; {len(duplicates)} duplicate announcements"
    )


def test_two_runners_at_once_never_run_a_payload_twice(proj: Proj) -> None:
    log = proj.root / "exec.log"
    ids = _many(proj, 300, log, sleep_ms=5)
    assert proj.cirrus("process", "in.ndjson").json()["queued"] == 300

    runners = [proj.popen("worker", "--until-empty", "--workers", "2") for _ in range(2)]
    outputs = [runner.communicate(timeout=300) for runner in runners]
    for runner, (_, stderr) in zip(runners, outputs, strict=True):
        assert runner.returncode == 0, stderr
    counts = [json.loads(stdout) for stdout, _ in outputs]

    runs = Counter(_lines(log))
    assert set(runs) == {payload_id(i) for i in ids}
    twice = {pid: n for pid, n in runs.items() if n > 1}
    assert twice == {}, f"{len(twice)} payloads executed more than once"
    records = proj.records()
    assert len(records) == 300
    assert all(r["state"] == "SUCCEEDED" for r in records.values())
    assert all(len(r["executions"]) == 1 for r in records.values())
    assert sum(c.get("succeeded", 0) for c in counts) == 300
    assert all(c.get("succeeded", 0) > 0 for c in counts), f"one runner did nothing: {counts}"
    assert Counter(line["item"]["id"] for line in proj.published) == dict.fromkeys(ids, 1)


def test_sigkill_then_rerun_runs_replace_payloads_once(proj: Proj) -> None:
    log = proj.root / "exec.log"
    ids = _many(proj, 200, log, sleep_ms=4, replace=True)
    # in the second batch of 100; rerun only once the leases ran out
    _kill_mid_run(proj, log, after=130, outwait_lease=True)
    proj.cirrus("worker", "--until-empty", timeout=300)

    records = proj.records()
    assert len(records) == 200
    assert all(r["state"] == "SUCCEEDED" for r in records.values())
    outputs = {pid: len(proj.outputs(pid)) for pid in records}
    several = {pid: count for pid, count in outputs.items() if count != 1}
    assert several == {}, f"{len(several)} payloads have more than one output"
    # every item announced; one whose commit the kill cut short after its announcement is
    # announced again when its payload is finished (at-least-once publishing)
    announced = Counter(line["item"]["id"] for line in proj.published)
    assert set(announced) == set(ids)
    assert max(announced.values()) <= 2


def test_sigkill_of_a_two_process_run_then_rerun_finishes_every_payload_once(proj: Proj) -> None:
    log = proj.root / "exec.log"
    ids = _many(proj, 400, log, sleep_ms=4)
    runner = proj.popen(
        "process", "in.ndjson", "--wait", "--processes", "2", start_new_session=True
    )
    try:
        _wait_for_lines(log, 120, timeout=120)
        assert runner.poll() is None, "the run ended before it could be killed"
        os.killpg(runner.pid, signal.SIGKILL)  # the parent and its worker process at once
    finally:
        runner.communicate(timeout=30)

    proj.cirrus("worker", "--until-empty", "--processes", "2", timeout=300)
    records = proj.records()
    assert set(records) == {payload_id(i) for i in ids}
    assert Counter(r["state"] for r in records.values()) == {"SUCCEEDED": 400}
    outputs = {pid: len(proj.outputs(pid)) for pid in records}
    assert {pid: n for pid, n in outputs.items() if n != 1} == {}
    for pid, record in records.items():
        assert record["output_url"] == proj.payload_url(
            f"executions/{pid}/{record['executions'][-1]}/output.json"
        )


def test_messages_held_by_a_worker_that_died_are_taken_over_while_running(
    proj: Proj, open_pipeline: Any
) -> None:
    log = proj.root / "exec.log"
    pipeline = open_pipeline()  # the default lease: 900 s
    pipeline.submit([payload(item(f"d{i}"), tasks=logged(log)) for i in range(3)])
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    host = new_owner().split(":")[0]
    # a worker process (now gone) had received every message, as a --processes child would
    held = pipeline.queue.receive(10, visibility_seconds=900, owner=f"{host}:{child.pid}:dead")
    assert len(held) == 3

    looks: list[int] = []

    def receivers_unseen_at_start_up() -> list[str]:
        # the worker's start-up look finds nobody, so only its idle loop can find the dead one
        looks.append(1)
        return [] if len(looks) == 1 else list(pipeline.queue.receivers())

    queue = Standin(pipeline.queue, receivers=receivers_unseen_at_start_up)
    stop = threading.Event()
    timer = threading.Timer(20, stop.set)  # bounded: without the takeover this would wait 900 s
    timer.start()
    try:
        counts = run_worker(pipeline, queue=queue, stop=stop)
    finally:
        timer.cancel()
    assert counts == {"succeeded": 3}
    assert sorted(runs(log)) == [payload_id(f"d{i}") for i in range(3)]
