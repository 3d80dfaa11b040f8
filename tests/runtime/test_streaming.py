"""``cirrus process - --wait`` runs payloads while its input is still coming.

Its submission and its worker run at once: the worker waits on an empty queue while more
input may come (``more_coming``), and both use the one queue the pipeline opens.
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

import cirrus.runtime.pipeline as pipeline_module
from cirrus.runtime.pipeline import with_pauses
from tests.runtime.conftest import Proj, Standin, item, payload, payload_id, run_worker


def test_a_payload_runs_before_the_input_ends(proj: Proj) -> None:
    run = proj.popen("process", "-", "--wait", stdin=subprocess.PIPE)
    assert run.stdin is not None
    first = payload_id("s1", "stamp-only")
    try:
        run.stdin.write(json.dumps(payload(item("s1"), workflow="stamp-only")) + "\n")
        run.stdin.flush()
        deadline = time.monotonic() + 30
        while proj.records().get(first, {}).get("state") != "SUCCEEDED":
            assert time.monotonic() < deadline, "the first payload did not run while input was open"
            time.sleep(0.2)
        run.stdin.write(json.dumps(payload(item("s2"), workflow="stamp-only")) + "\n")
        stdout, stderr = run.communicate(timeout=60)  # closes the input
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert run.returncode == 0, stderr
    assert json.loads(stdout) == {"queued": 2, "rejected": 0, "succeeded": 2}
    assert proj.records()[payload_id("s2", "stamp-only")]["state"] == "SUCCEEDED"


def test_with_pauses_marks_where_the_source_went_quiet() -> None:
    def source() -> Iterator[int]:
        yield 1
        yield 2
        time.sleep(0.3)
        yield 3

    assert list(with_pauses(source(), 0.1)) == [1, 2, None, 3]


def test_with_pauses_passes_on_a_failure_of_the_source() -> None:
    def source() -> Iterator[int]:
        yield 1
        raise ValueError("unreadable line 2")

    got = []
    try:
        for value in with_pauses(source(), 1.0):
            got.append(value)
    except ValueError as err:
        assert "line 2" in str(err)
    else:
        raise AssertionError("the failure was swallowed")
    assert got == [1]


def test_every_worker_process_keeps_going_while_the_input_is_open(proj: Proj) -> None:
    pids = proj.root / "pids.log"
    run = proj.popen("process", "-", "--wait", "--processes", "2", stdin=subprocess.PIPE)
    assert run.stdin is not None
    try:
        run.stdin.write(json.dumps(payload(item("w0"), workflow="stamp-only")) + "\n")
        run.stdin.flush()
        deadline = time.monotonic() + 30
        while proj.records().get(payload_id("w0", "stamp-only"), {}).get("state") != "SUCCEEDED":
            assert time.monotonic() < deadline, "the first payload did not run"
            time.sleep(0.2)
        time.sleep(1.0)  # the queue stays empty a while: nobody may leave yet
        tasks = {"stamp": {"sleep_ms": 400, "pid_log": str(pids)}}
        for n in range(1, 9):
            line = json.dumps(payload(item(f"w{n}"), workflow="stamp-only", tasks=tasks))
            run.stdin.write(line + "\n")
            run.stdin.flush()
            time.sleep(0.15)
        stdout, stderr = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert run.returncode == 0, stderr
    assert json.loads(stdout)["succeeded"] == 9
    assert len(set(pids.read_text().split())) == 2, "one of the two processes did all the work"


def test_a_waiting_worker_runs_a_payload_sent_as_the_input_ends(
    proj: Proj, open_pipeline: Any
) -> None:
    """The worker asks ``more_coming()`` before it looks at the queue, not after.

    When the submission sends its last payloads and ends between the worker's look at the
    queue (empty, ``counts()``) and its question whether more is coming (no), a worker
    asking in that order leaves: the payload stays queued and ``process_stream``
    (``cirrus process --wait``) reports it queued but never run. Here the last payload is
    sent and the input ends right after the worker's first look, as a thread switch at that
    point would do.
    """
    pipeline = open_pipeline()
    input_open = threading.Event()
    input_open.set()
    last = [json.dumps(payload(item("late"), workflow="stamp-only"))]

    def counts_then_input_ends() -> tuple[int, int]:
        seen: tuple[int, int] = pipeline.queue.counts()
        if last:
            pipeline.queue.send_many([last.pop()])
            input_open.clear()
        return seen

    queue = Standin(pipeline.queue, counts=counts_then_input_ends)
    counts = run_worker(pipeline, queue=queue, more_coming=input_open.is_set)
    assert not last, "the worker never looked at an empty queue"
    assert pipeline.queue.counts() == (0, 0), "the submitted payload was left in the queue"
    assert counts == {"succeeded": 1}


def test_process_stream_submits_to_the_queue_its_worker_drains(
    proj: Proj, open_pipeline: Any, monkeypatch: pytest.MonkeyPatch
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

    # the one test left patching a module: the pipeline takes no queue opener to hand it
    monkeypatch.setattr(pipeline_module, "open_queue", slow_open)
    pipeline = open_pipeline(queue="memory://", state_db="memory://")
    text = json.dumps(payload(item("mem"), workflow="stamp-only")) + "\n"
    report, outcomes = pipeline.process_stream(io.StringIO(text), workers=1)
    assert report.queued == 1
    assert outcomes["succeeded"] == 1
