"""Timeouts stop tasks: nothing a task does lands after its payload is FAILED.

A lambda-type task past its Lambda ``timeout`` fails as Lambda reports it
(``Sandbox.Timedout``: "Task timed out after N seconds"); past its Task state's
``TimeoutSeconds`` with ``States.Timeout``. Either way its process is gone: the file it would
write after sleeping never appears, and a retry never overlaps the attempt before it.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.reliability.conftest import add_task, add_workflow, read_lines
from tests.runtime.conftest import Proj, item, payload, payload_id


def _sleeper(path: Path, seconds: float, *, mark: bool = False) -> dict[str, object]:
    return item("sleepy", do="sleep_write", path=str(path), seconds=seconds, mark=mark)


def test_a_task_past_its_lambda_timeout_fails_as_lambda_says_and_never_writes(
    proj: Proj, tmp_path: Path
) -> None:
    add_task(proj, "slow", "lambda:\n  timeout: 1\n")
    add_workflow(proj, "slow", "cirrus:lambda:slow")
    side_effect = tmp_path / "written"
    proj.write_payloads([payload(_sleeper(side_effect, 3), workflow="slow")])
    started = time.monotonic()
    run = proj.cirrus("process", "in.ndjson", "--wait", check=False)
    assert run.returncode == 1
    assert run.json()["failed"] == 1
    assert time.monotonic() - started < 30
    record = proj.records()[payload_id("sleepy", "slow")]
    assert record["state"] == "FAILED"
    assert record["last_error"].startswith("Sandbox.Timedout: RequestId: ")
    assert record["last_error"].endswith("Error: Task timed out after 1.00 seconds")
    time.sleep(3.5)  # long past the moment the task would have written
    assert not side_effect.exists()


def test_a_task_past_its_states_timeout_is_stopped_too(proj: Proj, tmp_path: Path) -> None:
    # no limit in its definition: the Task state's TimeoutSeconds alone puts it in a process
    add_task(proj, "free", "lambda: {}\n")
    add_workflow(proj, "bounded", "cirrus:lambda:free", TimeoutSeconds=1)
    side_effect = tmp_path / "written"
    proj.write_payloads([payload(_sleeper(side_effect, 3), workflow="bounded")])
    run = proj.cirrus("process", "in.ndjson", "--wait", check=False)
    assert run.returncode == 1
    record = proj.records()[payload_id("sleepy", "bounded")]
    assert record["last_error"].startswith("States.Timeout")
    time.sleep(3.5)
    assert not side_effect.exists()


def test_a_timed_out_attempt_never_overlaps_its_retry(proj: Proj, tmp_path: Path) -> None:
    add_task(proj, "slow", "lambda:\n  timeout: 1\n")
    add_workflow(
        proj,
        "retried",
        "cirrus:lambda:slow",
        Retry=[{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 2}],
    )
    side_effect = tmp_path / "attempts"
    proj.write_payloads([payload(_sleeper(side_effect, 2.5, mark=True), workflow="retried")])
    run = proj.cirrus("process", "in.ndjson", "--wait", check=False)
    assert run.returncode == 1
    time.sleep(3)
    lines = read_lines(side_effect)
    # three attempts started, one after the other, and none of them ever finished
    assert [line.split()[0] for line in lines] == ["start", "start", "start"]
    assert len({line.split()[1] for line in lines}) == 3  # each in a fresh process


def test_a_batch_task_past_its_states_timeout_is_stopped(proj: Proj, tmp_path: Path) -> None:
    add_task(proj, "slow-batch", "batch:\n  vcpu: 1\n")
    add_workflow(proj, "slow-batch", "cirrus:batch:slow-batch", TimeoutSeconds=2)
    side_effect = tmp_path / "written"
    proj.write_payloads([payload(_sleeper(side_effect, 5), workflow="slow-batch")])
    run = proj.cirrus("process", "in.ndjson", "--wait", check=False)
    assert run.returncode == 1
    record = proj.records()[payload_id("sleepy", "slow-batch")]
    assert record["last_error"].startswith("States.Timeout")
    time.sleep(5)
    assert not side_effect.exists()


def test_a_batch_task_gets_its_retry_attempts(proj: Proj, tmp_path: Path) -> None:
    add_task(proj, "flaky-batch", "batch:\n  vcpu: 1\n  retry: 3\n")
    add_workflow(proj, "flaky-batch", "cirrus:batch:flaky-batch")
    attempts = tmp_path / "attempts"
    # sleeps 0 s, writes, then fails: every attempt leaves a line
    flaky = item("flaky", do="sleep_write", path=str(attempts), seconds=0, mark=True)
    flaky["properties"]["then"] = "fail"
    proj.write_payloads([payload(flaky, workflow="flaky-batch")])
    run = proj.cirrus("process", "in.ndjson", "--wait", check=False)
    assert run.returncode == 1
    assert [line.split()[0] for line in read_lines(attempts)] == ["start", "end"] * 3
    record = proj.records()[payload_id("flaky", "flaky-batch")]
    assert record["last_error"] == "RuntimeError: failed after writing flaky"


@pytest.mark.slow
def test_a_task_past_its_lambda_memory_fails_as_lambda_says(proj: Proj) -> None:
    add_task(proj, "hog", "lambda:\n  memory: 128\n")
    add_workflow(proj, "hog", "cirrus:lambda:hog")
    proj.write_payloads([payload(item("hog", do="memory", mb=400, seconds=3), workflow="hog")])
    run = proj.cirrus("process", "in.ndjson", "--wait", check=False)
    assert run.returncode == 1
    record = proj.records()[payload_id("hog", "hog")]
    assert record["last_error"].startswith("Runtime.ExitError: RequestId: ")
    assert "Runtime exited with error: signal: killed" in record["last_error"]


@pytest.mark.slow
def test_a_batch_task_past_its_batch_timeout_is_stopped_and_not_retried(
    proj: Proj, tmp_path: Path
) -> None:
    # AWS Batch's shortest timeout is 60 s; an attempt stopped at it is not retried
    add_task(proj, "long-batch", "batch:\n  vcpu: 1\n  timeout: 60\n  retry: 3\n")
    add_workflow(proj, "long-batch", "cirrus:batch:long-batch")
    side_effect = tmp_path / "attempts"
    proj.write_payloads([payload(_sleeper(side_effect, 75, mark=True), workflow="long-batch")])
    run = proj.cirrus("process", "in.ndjson", "--wait", check=False, timeout=300)
    assert run.returncode == 1
    record = proj.records()[payload_id("sleepy", "long-batch")]
    assert record["last_error"].startswith("States.Timeout: Job attempt duration exceeded timeout")
    time.sleep(16)
    assert [line.split()[0] for line in read_lines(side_effect)] == ["start"]
