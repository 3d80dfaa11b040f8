"""Results are committed as soon as executions finish, and every event has the time it happened."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest

from cirrus.runtime.waves import run_in_waves
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


def _sleeper(log: list[str]) -> Callable[[float], None]:
    def run(seconds: float) -> None:
        time.sleep(seconds)
        log.append(f"ran {seconds}")

    return run


def test_run_in_waves_hands_back_each_item_as_it_finishes_while_a_slow_one_runs() -> None:
    log: list[str] = []
    items = [1.5, 0.05, 0.1, 0.2]
    with ThreadPoolExecutor(2) as pool:
        waves = []
        for wave in run_in_waves(items, _sleeper(log), pool, threads=2):
            waves.append(sorted(wave))
            log.append(f"wave of {wave}")
    # nothing waits for a wave to fill: each quick item is handed back on its own
    assert waves == [[0.05], [0.1], [0.2], [1.5]]
    assert log.index("wave of [0.2]") < log.index("ran 1.5")


def test_what_finishes_while_the_caller_is_busy_makes_the_next_wave() -> None:
    with ThreadPoolExecutor(4) as pool:
        waves = []
        for wave in run_in_waves(list(range(40)), lambda n: time.sleep(0.01), pool, threads=4):
            waves.append(wave)
            time.sleep(0.05)  # a slow commit
    assert sorted(n for wave in waves for n in wave) == list(range(40))
    assert len(waves) < 15, "the caller was handed back items one at a time"


def test_run_in_waves_starts_nothing_more_once_its_caller_stopped() -> None:
    ran: list[int] = []

    def run(number: int) -> None:
        time.sleep(0.02)
        ran.append(number)

    with ThreadPoolExecutor(2) as pool:
        waves = run_in_waves(list(range(40)), run, pool, threads=2)
        first = next(iter(waves))
        rest = waves.stop()  # the caller failed while handling the first wave
    assert len(ran) < 40, "every item ran after the caller had stopped"
    # what finished after the first wave is handed over by stop(), nothing twice
    assert sorted(first + rest) == sorted(ran)


def test_run_in_waves_without_threads_runs_every_item_once_in_order() -> None:
    log: list[str] = []
    waves = list(run_in_waves([0.0, 0.25, 0.0, 0.0], _sleeper(log), None, threads=1))
    assert waves == [[0.0], [0.25], [0.0], [0.0]]
    assert log == ["ran 0.0", "ran 0.25", "ran 0.0", "ran 0.0"]


def test_run_in_waves_on_one_thread_runs_every_item_once_in_order() -> None:
    log: list[str] = []
    with ThreadPoolExecutor(1) as pool:
        waves = list(run_in_waves([0.0, 0.05, 0.0], _sleeper(log), pool, threads=1))
    assert [item for wave in waves for item in wave] == [0.0, 0.05, 0.0]
    assert log == ["ran 0.0", "ran 0.05", "ran 0.0"]


def test_a_failure_of_the_run_itself_surfaces() -> None:
    def run(item: int) -> None:
        if item == 2:
            raise RuntimeError("broken")

    with ThreadPoolExecutor(2) as pool, pytest.raises(RuntimeError, match="broken"):
        list(run_in_waves([1, 2, 3], run, pool, threads=2))
