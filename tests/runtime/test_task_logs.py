"""Per-execution task logs: kept beside the execution's input, read with ``cirrus logs``.

Every line carries time, level, task and payload id; the traceback of a failure is kept;
what a task prints never reaches machine stdout; payloads running at once never mix lines.
"""

from __future__ import annotations

import json
import re
import time

from tests.reliability.conftest import add_task, add_workflow
from tests.runtime.conftest import Proj, item, payload, payload_id

_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO|WARNING|ERROR|CRITICAL) ")


def _lines(text: str) -> list[str]:
    return text.splitlines()


def test_a_failing_task_logs_every_level_and_its_traceback(proj: Proj) -> None:
    add_task(proj, "chatty")
    add_workflow(proj, "chatty", "cirrus:lambda:chatty")
    (proj.root / "one.json").write_text(
        json.dumps(payload(item("loud", do="raise"), workflow="chatty"))
    )
    run = proj.cirrus("run-workflow", "one.json", "--log-level", "DEBUG", check=False)
    assert run.returncode == 10
    assert run.stdout == ""
    pid = payload_id("loud", "chatty")
    lines = _lines(proj.cirrus("logs", pid).stdout)
    assert lines
    for line in lines:
        assert _LINE.match(line), line
        assert f" chatty {pid} " in line, line
    text = "\n".join(lines)
    for level, what in [
        ("DEBUG", "debug from loud #0"),
        ("INFO", "info from loud #0"),
        ("WARNING", "warning from loud #0"),
        ("ERROR", "error from loud #0"),
        ("INFO", "print from loud #0"),
        ("WARNING", "stderr from loud #0"),
    ]:
        assert re.search(rf" {level} chatty {re.escape(pid)} {what}$", text, re.M), what
    assert "UserWarning: warned by loud #0" in text
    assert f" ERROR chatty {pid} Traceback (most recent call last):" in text
    assert text.endswith(f"chatty {pid} RuntimeError: asked to fail loud")


def test_the_default_level_leaves_debug_out(proj: Proj) -> None:
    add_task(proj, "chatty")
    add_workflow(proj, "chatty", "cirrus:lambda:chatty")
    proj.write_payloads([payload(item("quiet", do="chatty"), workflow="chatty")])
    proj.cirrus("process", "in.ndjson", "--wait")
    text = proj.cirrus("logs", payload_id("quiet", "chatty")).stdout
    assert "info from quiet #0" in text
    assert "debug from" not in text


def test_a_batch_tasks_output_and_traceback_are_its_log(proj: Proj) -> None:
    add_task(proj, "chatty-batch", "batch:\n  vcpu: 1\n")
    add_workflow(proj, "chatty-batch", "cirrus:batch:chatty-batch")
    proj.write_payloads([payload(item("b", do="raise"), workflow="chatty-batch")])
    run = proj.cirrus("process", "in.ndjson", "--wait", check=False)
    assert run.returncode == 1
    pid = payload_id("b", "chatty-batch")
    text = proj.cirrus("logs", pid).stdout
    for line in _lines(text):
        assert _LINE.match(line), line
        assert f" {pid} " in line, line
    assert "error from b #0" in text
    assert "print from b #0" in text
    assert "stderr from b #0" in text
    assert "Traceback (most recent call last):" in text
    assert "RuntimeError: asked to fail b" in text


def test_payloads_running_at_once_never_mix_their_lines(proj: Proj) -> None:
    add_task(proj, "chatty")
    add_workflow(proj, "chatty", "cirrus:lambda:chatty")
    names = [f"p{number}" for number in range(4)]
    proj.write_payloads(
        [payload(item(n, do="chatty", lines=20, pause=0.01), workflow="chatty") for n in names]
    )
    proj.cirrus("process", "in.ndjson", "--wait", "--workers", "4")
    for name in names:
        pid = payload_id(name, "chatty")
        lines = _lines(proj.cirrus("logs", pid).stdout)
        assert len(lines) >= 20 * 5
        for line in lines:
            assert f" {pid} " in line
            mentioned = set(re.findall(r"\bp\d\b", line.split(pid, 1)[1]))
            assert mentioned <= {name}, line


def test_what_a_task_prints_never_reaches_machine_stdout(proj: Proj) -> None:
    add_task(proj, "chatty")
    add_workflow(proj, "chatty", "cirrus:lambda:chatty")
    (proj.root / "one.json").write_text(
        json.dumps(payload(item("talker", do="chatty"), workflow="chatty"))
    )
    run = proj.cirrus("run-workflow", "one.json")
    assert json.loads(run.stdout)["features"][0]["id"] == "talker"
    task = proj.cirrus("run", "task", "chatty", "one.json")
    assert json.loads(task.stdout)["features"][0]["id"] == "talker"
    assert "print from talker #0" in task.stderr


def test_a_flood_is_cut_in_the_middle_and_keeps_the_traceback(proj: Proj) -> None:
    add_task(proj, "chatty")
    add_workflow(proj, "chatty", "cirrus:lambda:chatty")
    proj.write_payloads([payload(item("flood", do="flood", lines=20_000), workflow="chatty")])
    proj.cirrus("process", "in.ndjson", "--wait", check=False)
    text = proj.cirrus("logs", payload_id("flood", "chatty")).stdout
    assert len(text.encode()) < 1_100_000
    assert "flood line 0 of flood" in text
    assert re.search(r"\[cirrus: \d+ line\(s\), \d+ bytes cut here", text)
    assert text.rstrip().endswith("RuntimeError: flooded flood")


def test_logs_follow_waits_for_a_running_execution(proj: Proj) -> None:
    add_task(proj, "chatty")
    add_workflow(proj, "chatty", "cirrus:lambda:chatty")
    proj.write_payloads([payload(item("slow", do="chatty", lines=8, pause=1), workflow="chatty")])
    pid = payload_id("slow", "chatty")
    running = proj.popen("process", "in.ndjson", "--wait")
    try:
        deadline = time.monotonic() + 60
        while proj.cirrus("get-state", pid, check=False).returncode != 0:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        follower = proj.popen("logs", pid, "--follow")
        assert follower.stdout is not None
        first = follower.stdout.readline()
        # lines come while the task still runs
        assert proj.records()[pid]["state"] == "PROCESSING"
        rest, _ = follower.communicate(timeout=60)
    finally:
        running.communicate(timeout=60)
    assert " chatty " in first
    assert "info from slow #7" in rest
    assert proj.records()[pid]["state"] == "SUCCEEDED"
