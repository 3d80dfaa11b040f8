"""Tasks in processes of their own, driven through the TaskRunner with real processes.

The warm process is reused; an abort (:func:`~cirrus.runtime.executor.terminate_tasks`)
kills a running one at once; a task's lines land in the log bound to the caller's context.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from cirrus.errors import TaskError
from cirrus.runtime.executor import terminate_tasks
from cirrus.task.children import PIDS_ROOT, running_count
from cirrus.task.limits import TaskSettings
from cirrus.task.runner import TaskRunner
from cirrus.task.tasklog import ExecutionLog, bound

MISBEHAVE = Path(__file__).parent.parent / "fixtures" / "tasks" / "misbehave.py"


def _payload(**props: object) -> dict[str, object]:
    feature = {"type": "Feature", "id": "one", "properties": props, "assets": {}, "links": []}
    return {"type": "FeatureCollection", "features": [feature], "process": [{"workflow": "w"}]}


@pytest.fixture
def runner(tmp_path: Path) -> TaskRunner:
    code = tmp_path / "task.py"
    shutil.copyfile(MISBEHAVE, code)
    settings = TaskSettings(spec=f"{code}:Misbehave", isolate=True)
    made = TaskRunner(lambda name: type(name, (), {}), settings_of=lambda name: settings)
    yield made
    made.close()


def test_a_warm_process_serves_call_after_call(runner: TaskRunner) -> None:
    log = ExecutionLog("c/workflow-w/one", "e1")
    with bound(log, "e1"):
        first = runner.run_lambda("misbehave", _payload(do="env", names=["CIRRUS_TASK_CHILD"]))
        second = runner.run_lambda("misbehave", _payload(do="chatty"))
    assert first["features"][0]["properties"]["env"] == {"CIRRUS_TASK_CHILD": "1"}
    assert second["features"][0]["id"] == "one"
    (host,) = [h for idle in runner.hosts._idle.values() for h in idle]
    assert host.alive()
    assert " INFO misbehave c/workflow-w/one info from one #0" in log.text()


def test_an_abort_kills_the_running_task_process_at_once(runner: TaskRunner) -> None:
    failure: list[BaseException] = []
    log = ExecutionLog("c/workflow-w/one", "e2")

    def call() -> None:
        with bound(log, "e2"):
            try:
                runner.run_lambda(
                    "misbehave", _payload(do="sleep_write", path="/dev/null", seconds=30)
                )
            except TaskError as err:
                failure.append(err)

    thread = threading.Thread(target=call)
    thread.start()
    deadline = time.monotonic() + 30
    while running_count("e2") == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    started = time.monotonic()
    assert terminate_tasks("e2") == 1
    thread.join(10)
    assert time.monotonic() - started < 5
    assert isinstance(failure[0], TaskError)
    assert failure[0].error == "States.Aborted"
    assert running_count("e2") == 0


def test_an_abort_from_another_process_kills_the_task_process(
    runner: TaskRunner, tmp_path: Path
) -> None:
    failure: list[BaseException] = []
    log = ExecutionLog("c/workflow-w/one", "e3-0001")

    def call() -> None:
        with bound(log, "e3-0001"):
            try:
                runner.run_lambda(
                    "misbehave", _payload(do="sleep_write", path="/dev/null", seconds=30)
                )
            except TaskError as err:
                failure.append(err)

    thread = threading.Thread(target=call)
    thread.start()
    # a task process is noted for other processes once it has run a moment (most end sooner)
    notes = PIDS_ROOT / "e3-0001"
    deadline = time.monotonic() + 30
    while not (notes.is_dir() and any(notes.iterdir())) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert running_count("e3-0001") == 1
    code = "from cirrus.runtime.executor import terminate_tasks; print(terminate_tasks('e3-0001'))"
    other = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert other.stdout.strip() == "1"
    thread.join(10)
    assert failure and isinstance(failure[0], TaskError)
    assert failure[0].error == "States.Aborted"
