"""Results are committed as executions finish, and every event has the time it happened."""

from __future__ import annotations

import time
from datetime import datetime

from tests.runtime.conftest import Proj, item, payload, payload_id


def test_a_slow_execution_does_not_hold_back_the_rest_of_its_batch(proj: Proj) -> None:
    slow = payload(item("slow"), workflow="stamp-only", tasks={"stamp": {"sleep_ms": 5000}})
    fast = [payload(item(f"f{n}"), workflow="stamp-only") for n in range(5)]
    proj.write_payloads([slow, *fast])
    assert proj.cirrus("process", "in.ndjson").json()["queued"] == 6
    fast_ids = {payload_id(f"f{n}", "stamp-only") for n in range(5)}

    worker = proj.popen("worker", "--until-empty", "--workers", "2")
    try:
        deadline = time.monotonic() + 30
        while True:
            states = {pid: r["state"] for pid, r in proj.records().items()}
            if all(states.get(pid) == "SUCCEEDED" for pid in fast_ids):
                break
            assert time.monotonic() < deadline, f"the quick payloads never finished: {states}"
            time.sleep(0.2)
        # the quick ones are recorded while the slow one of the same batch still runs
        assert states[payload_id("slow", "stamp-only")] == "PROCESSING"
    finally:
        _, stderr = worker.communicate(timeout=60)
    assert worker.returncode == 0, stderr
    assert proj.records()[payload_id("slow", "stamp-only")]["state"] == "SUCCEEDED"


def test_workflow_events_carry_the_time_they_happened(proj: Proj) -> None:
    pid = payload_id("t", "stamp-only")
    slow = payload(item("t"), workflow="stamp-only", tasks={"stamp": {"sleep_ms": 700}})
    proj.write_payloads([slow])
    proj.cirrus("process", "in.ndjson", "--wait")
    events = proj.cirrus("get-execution-events", pid, "--workflow-events").ndjson()
    times = {e["event_type"]: datetime.fromisoformat(e["time"]) for e in events}
    assert list(times) == ["CLAIMED_PROCESSING", "STARTED_PROCESSING", "SUCCEEDED"]
    assert times["CLAIMED_PROCESSING"] <= times["STARTED_PROCESSING"]
    assert (times["SUCCEEDED"] - times["STARTED_PROCESSING"]).total_seconds() >= 0.7
