"""SQLite-only behaviour: durability, concurrency across threads and processes, errors."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from cirrus.errors import ConfigError, StateError
from cirrus.state import ClaimOutcome, EventType, SQLiteStateDB, State
from tests.state import race_worker

REPO = Path(__file__).resolve().parents[2]
PID = "s2/workflow-cog/item-1"


def worker(*args: str | Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.state.race_worker", *map(str, args)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )


def test_state_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with SQLiteStateDB(path) as db:
        db.claim(PID, owner="w1", lease_seconds=60)
        db.start(PID, "run-1", owner="w1", lease_seconds=60)
        first = db.add_event(PID, EventType.STARTED_PROCESSING, execution="run-1")

    with SQLiteStateDB(path) as db:
        record = db.get(PID)
        assert record is not None
        assert record.state is State.PROCESSING and record.executions == ("run-1",)
        assert db.events() == [first]
        assert db.add_event(PID, EventType.SUCCEEDED).id == first.id + 1


def test_file_uses_wal_and_records_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    SQLiteStateDB(path).close()

    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(1,), (2,)]
    conn.close()


def test_a_version_1_file_is_migrated_and_keeps_its_records(tmp_path: Path) -> None:
    """Files written before execution times existed open, keep every record, and gain times."""
    from cirrus.state.sqlite import _MIGRATIONS

    path = tmp_path / "state.db"
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        for statement in _MIGRATIONS[1]:
            conn.execute(statement)
        conn.execute("INSERT INTO schema_version VALUES (1)")
        conn.execute(
            "INSERT INTO state_records (payload_id, collections_workflow, workflow, state,"
            " created, updated, executions) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                PID,
                "c_w",
                "w",
                "SUCCEEDED",
                "2024-05-01T12:00:00.000000Z",
                "2024-05-01T12:00:00.000000Z",
                '["old-run"]',
            ),
        )
    conn.close()

    with SQLiteStateDB(path) as db:
        old = db.get(PID)
        assert old is not None and old.executions == ("old-run",)
        assert old.started is None and old.duration is None
        assert db.counts() == {("w", State.SUCCEEDED): 1}
        db.claim(PID, owner="w", lease_seconds=60, replace=True)
        started = db.start(PID, "new-run", owner="w", lease_seconds=60)
        assert started.started is not None
        done = db.finish(PID, State.SUCCEEDED, owner="w")
        assert done.duration is not None and done.duration >= 0
        assert db.counts() == {("w", State.SUCCEEDED): 1}
        assert db.counts(group_by="collections_workflow") == {("c_w", State.SUCCEEDED): 1}


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    SQLiteStateDB(path).close()
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("INSERT INTO schema_version VALUES (99)")
    conn.close()

    with pytest.raises(StateError, match=r"schema version 99.*upgrade cirrus"):
        SQLiteStateDB(path)


def test_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("just some text, long enough to look like a header" * 20)

    with pytest.raises(StateError, match=f"{path} is not a SQLite state database"):
        SQLiteStateDB(path)


def test_memory_path_points_to_memory_backend() -> None:
    with pytest.raises(ConfigError, match="memory://"):
        SQLiteStateDB(":memory:")


def test_lock_held_beyond_timeout_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    db = SQLiteStateDB(path, timeout=0.2)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StateError, match=f"{path} stayed locked.*0.2s"):
            db.claim(PID, owner="w1", lease_seconds=60)
        assert db.get(PID) is None  # readers are not blocked by the writer
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert db.claim(PID, owner="w1", lease_seconds=60).claimed
    db.close()


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_read_only_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    SQLiteStateDB(path).close()
    tmp_path.chmod(0o500)
    path.chmod(0o400)
    try:
        with pytest.raises(StateError, match=r"read-only|cannot open"):
            SQLiteStateDB(path).claim(PID, owner="w1", lease_seconds=60)
    finally:
        tmp_path.chmod(0o700)
        path.chmod(0o600)


def test_threads_sharing_one_database_claim_each_id_once(tmp_path: Path) -> None:
    ids = race_worker.ids(300)
    claimed: dict[str, list[str]] = {}
    with SQLiteStateDB(tmp_path / "state.db") as db:

        def claim(owner: str) -> None:
            mine = []
            for start in range(0, len(ids), 25):
                batch = [(pid, False) for pid in ids[start : start + 25]]
                results = db.claim_many(batch, owner=owner, lease_seconds=60)
                mine += [r.payload_id for r in results if r.claimed]
            claimed[owner] = mine

        threads = [threading.Thread(target=claim, args=(f"t{n}",)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        everything = [pid for mine in claimed.values() for pid in mine]
        assert sorted(everything) == ids
        owners = {pid: owner for owner, mine in claimed.items() for pid in mine}
        assert all(db.get(pid).claim_owner == owners[pid] for pid in ids)  # type: ignore[union-attr]


def test_two_processes_racing_claim_each_id_exactly_once(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    SQLiteStateDB(path).close()
    go = tmp_path / "go"
    procs = [worker("claim", path, owner, go) for owner in ("p1", "p2")]
    # both are connected and waiting before either starts claiming
    assert [proc.stdout.readline() for proc in procs] == ["ready\n", "ready\n"]  # type: ignore[union-attr]
    go.touch()
    outputs = [proc.communicate(timeout=120)[0] for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0]
    first, second = (json.loads(out) for out in outputs)

    assert not set(first) & set(second)
    assert sorted(first + second) == race_worker.ids()
    with SQLiteStateDB(path) as db:
        records = db.get_many(race_worker.ids())
        assert {pid for pid, r in records.items() if r.claim_owner == "p1"} == set(first)
        assert {pid for pid, r in records.items() if r.claim_owner == "p2"} == set(second)


def _integrity(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


def test_sigkill_inside_a_transaction_leaves_nothing_half_done(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    kept = race_worker.ids(50)
    with SQLiteStateDB(path) as db:
        db.claim_many([(pid, False) for pid in kept], owner="parent", lease_seconds=60)

    with worker("hang", path, "doomed") as proc:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "mid-transaction"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)

    assert _integrity(path) == "ok"
    with SQLiteStateDB(path, timeout=5) as db:
        assert db.get_many(race_worker.hang_ids()) == {}
        assert all(r.claim_owner == "parent" for r in db.get_many(kept).values())
        assert len(db.get_many(kept)) == len(kept)
        # the dead writer's lock is gone: a new claim goes through at once
        results = db.claim_many(
            [(pid, False) for pid in race_worker.hang_ids()], owner="parent", lease_seconds=60
        )
        assert {r.outcome for r in results} == {ClaimOutcome.CLAIMED}


def test_sigkill_at_any_moment_keeps_batches_whole(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    SQLiteStateDB(path).close()
    with worker("loop", path, "doomed") as proc:
        assert proc.stdout is not None
        committed = [proc.stdout.readline() for _ in range(3)]
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)

    assert committed == [f"committed {n}\n" for n in range(3)]
    assert _integrity(path) == "ok"
    with SQLiteStateDB(path) as db:
        sizes = [len(db.get_many(race_worker.batch_ids(n))) for n in range(10)]
    assert sizes[:3] == [race_worker.BATCH] * 3
    assert set(sizes) <= {0, race_worker.BATCH}
