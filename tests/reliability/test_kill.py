"""kill -9, SIGTERM and dead worker processes: every payload ends once, and little is redone.

What cirrus promises (docs/reliability.md): each payload ends in exactly one terminal state
with exactly one stored output (exactly-once outcome), its task calls may be repeated after
a kill (at-least-once execution) and its items announced again (at-least-once publishing);
a kill redoes at most the executions that were running when it came, since finished ones
are committed at once. These tests run the real ``cirrus`` command in subprocesses on a
real project, with a task that sleeps so that kills land mid-execution.

The short versions run in CI; ``pytest -m slow tests/reliability`` runs the long ones
(hundreds of payloads, ten kills).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest

from cirrus.runtime import Worker
from tests.runtime.conftest import Proj, clean_env, item, payload, payload_id

WORKERS = 2  # threads per process, set in the test project's cirrus.yml


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def _wait_for_lines(path: Path, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while len(_lines(path)) < count:
        assert time.monotonic() < deadline, f"{path} reached only {len(_lines(path))} lines"
        time.sleep(0.02)


def _submit(proj: Proj, count: int, log: Path, sleep_ms: int) -> list[str]:
    tasks = {"stamp": {"sleep_ms": sleep_ms, "exec_log": str(log)}}
    ids = [f"k{n:04d}" for n in range(count)]
    proj.write_payloads(payload(item(i), workflow="stamp-only", tasks=tasks) for i in ids)
    assert proj.cirrus("process", "in.ndjson").json()["queued"] == count
    return [payload_id(i, "stamp-only") for i in ids]


@dataclass
class Tally:
    """What a run left behind, counted."""

    states: Counter[str]
    outputs: dict[str, int]
    calls: Counter[str]
    announced: Counter[str]

    @property
    def redundant_calls(self) -> int:
        return sum(self.calls.values()) - len(self.calls)


def _tally(proj: Proj, log: Path) -> Tally:
    records = proj.records()
    return Tally(
        states=Counter(record["state"] for record in records.values()),
        outputs={pid: len(proj.outputs(pid)) for pid in records},
        calls=Counter(_lines(log)),
        announced=Counter(line["id"] for line in proj.published),
    )


def _assert_exactly_once(proj: Proj, tally: Tally, expected: list[str]) -> None:
    """One terminal state and one output per payload; every call and item at least once."""
    assert tally.states == {"SUCCEEDED": len(expected)}
    assert {pid for pid, n in tally.outputs.items() if n != 1} == set()
    assert set(tally.calls) == set(expected)
    assert set(tally.announced) == {pid.rsplit("/", 1)[1] for pid in expected}
    assert proj.records("--state", "PROCESSING") == {}
    assert len(list((proj.cirrus_dir / "data" / "test").glob("*/*.json"))) == len(expected)


def _kill_loop(proj: Proj, *, payloads: int, kills: int, sleep_ms: int, processes: int) -> None:
    log = proj.root / "exec.log"
    expected = _submit(proj, payloads, log, sleep_ms)
    step = payloads // (kills + 2)
    command = ["worker", "--until-empty", "--processes", str(processes)]
    for kill in range(kills):
        runner = proj.popen(*command, start_new_session=True)
        try:
            _wait_for_lines(log, (kill + 1) * step, timeout=120)
            assert runner.poll() is None, "the run ended before it could be killed"
            os.killpg(runner.pid, signal.SIGKILL)  # the runner and its worker processes
        finally:
            runner.communicate(timeout=30)
    proj.cirrus("worker", "--until-empty", "--processes", str(processes), timeout=600)

    tally = _tally(proj, log)
    _assert_exactly_once(proj, tally, expected)
    # a kill redoes the executions running when it came (workers per process), and those
    # of the one commit it may cut short (finished while the last one was being written)
    running = WORKERS * processes
    per_kill = tally.redundant_calls / kills
    duplicates = sum(tally.announced.values()) - len(tally.announced)
    print(
        f"{kills} kills over {payloads} payloads: {tally.redundant_calls} redundant task calls "
        f"({per_kill:.1f} per kill), {duplicates} duplicate announcements"
    )
    assert tally.redundant_calls <= kills * 2 * running


def test_kill_9_loop_ends_every_payload_once(proj: Proj) -> None:
    _kill_loop(proj, payloads=60, kills=3, sleep_ms=40, processes=1)


def test_kill_9_loop_of_two_processes_ends_every_payload_once(proj: Proj) -> None:
    _kill_loop(proj, payloads=60, kills=2, sleep_ms=40, processes=2)


def test_more_kills_than_the_receive_limit_dead_letter_nothing(proj: Proj) -> None:
    # a worker holds its whole batch (200 messages here); each kill counts a receive
    # against all of them, and the one taking over gives it back to those that were not
    # running, so six kills (the limit is five) send no payload to the dead letters
    _kill_loop(proj, payloads=64, kills=6, sleep_ms=40, processes=1)


@pytest.mark.slow
def test_kill_9_loop_over_hundreds_of_payloads(proj: Proj) -> None:
    _kill_loop(proj, payloads=400, kills=10, sleep_ms=30, processes=1)


@pytest.mark.slow
def test_kill_9_loop_of_two_processes_over_hundreds_of_payloads(proj: Proj) -> None:
    _kill_loop(proj, payloads=400, kills=10, sleep_ms=30, processes=2)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stopped_worker_writes_out_every_execution_it_ran(
    proj: Proj, signum: signal.Signals
) -> None:
    log = proj.root / "exec.log"
    expected = _submit(proj, 30, log, sleep_ms=150)
    runner = proj.popen("worker")
    try:
        _wait_for_lines(log, 6, timeout=60)
        runner.send_signal(signum)
    finally:
        _, stderr = runner.communicate(timeout=60)
    assert runner.returncode in (0, 130, -signum), stderr
    # what ran was written out before the worker ended; what is left PROCESSING is what
    # its batch had started but not run yet
    ran = set(_lines(log))
    records = proj.records()
    assert {pid for pid, record in records.items() if record["state"] == "SUCCEEDED"} == ran
    assert ran.isdisjoint(proj.records("--state", "PROCESSING"))

    proj.cirrus("worker", "--until-empty")
    tally = _tally(proj, log)
    _assert_exactly_once(proj, tally, expected)
    assert tally.redundant_calls == 0, "an execution that finished before the stop ran again"


# ---------------------------------------------------------------- a dead worker process

DRAIN = textwrap.dedent(
    """
    import json
    import sys
    from cirrus.project import find_project
    from cirrus.runtime import Pipeline

    # small batches, so that both processes hold work; the default lease (900 s)
    with Pipeline.for_project(find_project(explicit=sys.argv[1])) as pipeline:
        counts = pipeline.drain(processes=2, batch_size=4, workers=2)
    print(json.dumps(dict(counts)))
    """
)


def test_a_dead_child_of_two_processes_is_taken_over_at_once(proj: Proj) -> None:
    log = proj.root / "exec.log"
    expected = _submit(proj, 40, log, sleep_ms=250)
    runner = subprocess.Popen(
        [sys.executable, "-c", DRAIN, str(proj.root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
    )
    try:
        _wait_for_lines(log, 8, timeout=60)
        (child,) = psutil.Process(runner.pid).children()
        child.kill()
        killed_at = time.monotonic()
        stdout, stderr = runner.communicate(timeout=120)
    finally:
        runner.kill()
    elapsed = time.monotonic() - killed_at
    assert runner.returncode == 0, stderr
    assert f"worker process {child.pid} died (signal SIGKILL)" in stderr
    # 40 payloads of 0.25 s on 2 threads take 5 s in one process: nothing waited for the
    # 900 s lease of what the dead child held
    assert elapsed < 30
    assert not psutil.pid_exists(child.pid) or child.status() != psutil.STATUS_ZOMBIE
    tally = _tally(proj, log)
    _assert_exactly_once(proj, tally, expected)
    assert tally.redundant_calls <= 2 * WORKERS
    assert json.loads(stdout)["succeeded"] == 40


@pytest.mark.parametrize("to_group", [True, False], ids=["Ctrl-C to all", "SIGTERM to parent"])
def test_a_stopped_run_of_two_processes_stops_both_and_writes_out_what_ran(
    proj: Proj, to_group: bool
) -> None:
    log = proj.root / "exec.log"
    expected = _submit(proj, 40, log, sleep_ms=150)
    runner = proj.popen("worker", "--until-empty", "--processes", "2", start_new_session=True)
    try:
        _wait_for_lines(log, 8, timeout=60)
        children = psutil.Process(runner.pid).children()
        assert len(children) == 1
        if to_group:
            os.killpg(runner.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        else:
            runner.send_signal(signal.SIGTERM)
        _, stderr = runner.communicate(timeout=60)
    finally:
        runner.kill()
    # the worker process stopped too (nothing was started in its place)
    _, alive = psutil.wait_procs(children, timeout=30)
    assert alive == []
    assert "another takes its place" not in stderr
    ran = set(_lines(log))
    records = proj.records()
    assert {pid for pid, record in records.items() if record["state"] == "SUCCEEDED"} == ran

    proj.cirrus("worker", "--until-empty")
    tally = _tally(proj, log)
    _assert_exactly_once(proj, tally, expected)
    assert tally.redundant_calls == 0


@pytest.mark.parametrize("during", ["the first conclusion", "the first commit"])
def test_a_stop_during_a_wave_waits_for_the_wave_to_be_written(
    proj: Proj, open_pipeline: Any, during: str
) -> None:
    # the signal arrives while the worker concludes (or commits) a wave of finished
    # executions: the wave is written whole, then the worker stops, and nothing ran that
    # is not recorded as done
    log = proj.root / "exec.log"
    tasks = {"stamp": {"exec_log": str(log)}}
    pipeline = open_pipeline()
    pipeline.submit([payload(item(f"w{n}"), workflow="stamp-only", tasks=tasks) for n in range(6)])
    worker = Worker(pipeline.settings, pipeline.project, state_db=pipeline.db, queue=pipeline.queue)
    step = worker.update_state.conclude if during == "the first conclusion" else worker._commit
    signalled: list[bool] = []

    def stop_first(*args: Any) -> Any:
        if not signalled:
            signalled.append(True)
            os.kill(os.getpid(), signal.SIGTERM)  # its handler runs here, in the main thread
        return step(*args)

    if during == "the first conclusion":
        worker.update_state.conclude = stop_first  # type: ignore[method-assign]
    else:
        worker._commit = stop_first  # type: ignore[method-assign]
    try:
        with pytest.raises(KeyboardInterrupt):
            worker.run()
    finally:
        worker.close()
    ran = set(_lines(log))
    assert signalled and ran
    states = {pid: record["state"] for pid, record in proj.records().items()}
    assert {pid for pid, state in states.items() if state == "SUCCEEDED"} == ran
