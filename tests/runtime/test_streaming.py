"""``cirrus process - --wait`` runs payloads while its input is still coming."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator

from cirrus.runtime.pipeline import with_pauses
from tests.runtime.conftest import Proj, item, payload, payload_id


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
