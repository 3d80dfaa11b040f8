"""What goes wrong around the pipeline: a vanished database, a locked one, a read-only
project, a full disk. Each is a clear error and costs no payload silently.

Real files throughout: the read-only project is a read-only bind mount and the full disk a
small tmpfs (both need root, as in CI's container; elsewhere those tests are skipped).
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cirrus.queue.sqlite import SQLiteQueue
from cirrus.runtime.publish import Announcer, Published
from tests.runtime.conftest import Proj, item, payload, payload_id


def _mount(*args: str) -> bool:
    if os.geteuid() != 0:
        return False
    return subprocess.run(["mount", *args], capture_output=True, check=False).returncode == 0


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB file system."""
    folder = tmp_path / "tiny"
    folder.mkdir()
    if not _mount("-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)):
        pytest.skip("mounting a tmpfs needs root")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def _submit_slow(proj: Proj, count: int, sleep_ms: int) -> list[str]:
    tasks = {"stamp": {"sleep_ms": sleep_ms}}
    ids = [f"r{n:03d}" for n in range(count)]
    proj.write_payloads(payload(item(i), workflow="stamp-only", tasks=tasks) for i in ids)
    assert proj.cirrus("process", "in.ndjson").json()["queued"] == count
    return [payload_id(i, "stamp-only") for i in ids]


def _lock(path: Path, seconds: float) -> threading.Thread:
    """Hold ``path``'s write lock for ``seconds``, from now (the thread releases it)."""
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")

    def release() -> None:
        time.sleep(seconds)
        holder.execute("COMMIT")
        holder.close()

    thread = threading.Thread(target=release)
    thread.start()
    return thread


@pytest.mark.parametrize("how", ["deleted", "replaced"])
def test_a_state_database_gone_mid_run_stops_the_run_with_a_clear_error(
    proj: Proj, how: str
) -> None:
    _submit_slow(proj, 40, sleep_ms=100)
    state_db = proj.cirrus_dir / "state.db"
    runner = proj.popen("worker", "--until-empty")
    time.sleep(1.5)
    if how == "deleted":
        state_db.unlink()
    else:
        other = proj.root / "other.db"
        sqlite3.connect(other).close()
        other.replace(state_db)
    _, stderr = runner.communicate(timeout=60)
    assert runner.returncode == 1
    assert f"state database {state_db} was {how}" in stderr
    assert "Traceback" not in stderr


def test_payloads_read_from_a_pipe_wait_while_the_queue_is_locked(
    proj: Proj, open_pipeline: Any
) -> None:
    pipeline = open_pipeline()
    # a queue that gives up after 0.2 s instead of 30 s: the lock below outlasts it
    pipeline._queue = SQLiteQueue(proj.cirrus_dir / "queue.db", timeout=0.2)
    holder = _lock(proj.cirrus_dir / "queue.db", seconds=1.5)

    read, write = os.pipe()
    lines = [json.dumps(payload(item(f"p{n}"), workflow="stamp-only")) for n in range(5)]
    os.write(write, "\n".join(lines).encode() + b"\n")
    os.close(write)
    with os.fdopen(read) as stream:
        report = pipeline.submit_stream(stream)
    holder.join()
    assert report.queued == 5
    assert pipeline.drain() == {"succeeded": 5}


@pytest.mark.slow
def test_payloads_piped_to_cirrus_process_survive_a_queue_locked_for_35_seconds(
    proj: Proj,
) -> None:
    proj.cirrus("process", "--help")  # the queue exists once a command opened the project
    proj.write_payloads([payload(item("first"), workflow="stamp-only")])
    proj.cirrus("process", "in.ndjson", "--wait")
    holder = _lock(proj.cirrus_dir / "queue.db", seconds=35)
    lines = "".join(
        json.dumps(payload(item(f"p{n}"), workflow="stamp-only")) + "\n" for n in range(5)
    )
    run = proj.cirrus("process", "-", "--wait", input=lines, check=False, timeout=120)
    holder.join()
    assert run.returncode == 0, run.stderr
    assert run.json()["succeeded"] == 5
    assert "locked" in run.stderr


def test_reads_work_in_a_read_only_project(proj: Proj, tmp_path: Path) -> None:
    proj.write_payloads([payload(item("a"), workflow="stamp-only")])
    proj.cirrus("process", "in.ndjson", "--wait")
    pid = payload_id("a", "stamp-only")
    view = tmp_path / "read-only"
    view.mkdir()
    if not _mount("--bind", str(proj.root), str(view)):
        pytest.skip("a bind mount needs root")
    try:
        assert _mount("-o", "remount,ro,bind", str(view))
        reader = Proj(view)
        assert list(reader.records()) == [pid]
        assert reader.cirrus("get-state", pid).json()["state"] == "SUCCEEDED"
        output = reader.cirrus("get-output-payload", pid).json()
        assert output["features"][0]["properties"]["stamped"] is True
        assert reader.cirrus("get-input-payload", pid).json()["features"][0]["id"] == "a"
        events = reader.cirrus("get-execution-events", pid, "--workflow-events").ndjson()
        assert [event["event_type"] for event in events][-1] == "SUCCEEDED"
        # the queue is read too: its counts and the dead-letter store
        assert reader.cirrus("status", "--json").json()["queue"]["dead_letters"] == 0
        assert reader.cirrus("query", "--dead-letters").ndjson() == []
        # a write is refused with the reason
        refused = reader.cirrus("process", "in.ndjson", check=False)
        assert refused.returncode != 0
        assert "Traceback" not in refused.stderr
    finally:
        subprocess.run(["umount", str(view)], check=True)


def test_a_full_disk_under_the_publish_log_fails_the_payloads_clearly(
    proj: Proj, tiny_disk: Path
) -> None:
    log = tiny_disk / "published.ndjson"
    with (proj.root / "cirrus.yml").open("a") as config:
        config.write(f"publish_log: {log}\n")
    ids = [f"f{n:03d}" for n in range(150)]
    proj.write_payloads(payload(item(i), workflow="stamp-only") for i in ids)
    run = proj.cirrus("process", "in.ndjson", "--wait", check=False, timeout=300)
    assert run.returncode == 1
    stderr = " ".join(run.stderr.split())  # progress lines are wrapped to the terminal
    assert "Traceback" not in stderr
    assert "PublishLogError: cannot append to the publish log" in stderr
    assert "No space left on device" in stderr

    records = proj.records()
    states = Counter(record["state"] for record in records.values())
    assert set(states) == {"SUCCEEDED", "FAILED"}, states  # nothing left PROCESSING
    # the log holds whole lines only, one per item of every payload that succeeded
    logged = [json.loads(line)["id"] for line in log.read_text().splitlines()]
    succeeded = {pid.rsplit("/", 1)[1] for pid, r in records.items() if r["state"] == "SUCCEEDED"}
    assert sorted(logged) == sorted(succeeded)
    failed = [r for r in records.values() if r["state"] == "FAILED"]
    reason = f"PublishLogError: cannot append to the publish log {log}: No space left on device"
    assert all(r["last_error"].startswith(reason) for r in failed)


def test_the_publish_log_names_each_item_and_grows_linearly(tmp_path: Path) -> None:
    log = tmp_path / "published.ndjson"
    announcer = Announcer(str(log))
    for count in (100, 1000):
        log.unlink(missing_ok=True)
        items = [{"id": f"item-{n:05d}", "collection": "c"} for n in range(count)]
        long_id = "c/workflow-w/" + "/".join(item["id"] for item in items)
        announcer.announce_many([Published(long_id, "w", "abc-0001", items)])
        lines = [json.loads(line) for line in log.read_text().splitlines()]
        assert [line["id"] for line in lines] == [item["id"] for item in items]
        assert {(line["workflow"], line["execution"]) for line in lines} == {("w", "abc-0001")}
        per_item = log.stat().st_size / count
        assert per_item < 200, "each line holds more than its own item"


def test_a_line_cut_short_by_a_crash_does_not_swallow_the_next(tmp_path: Path) -> None:
    log = tmp_path / "published.ndjson"
    log.write_text('{"id": "whole"}\n{"id": "cut sh')
    Announcer(str(log)).announce_many([Published("c/workflow-w/a", "w", "e-1", [{"id": "a"}])])
    lines = log.read_text().splitlines()
    assert lines[1] == '{"id": "cut sh'
    assert json.loads(lines[2])["id"] == "a"
