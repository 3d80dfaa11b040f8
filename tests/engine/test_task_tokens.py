"""Task tokens (``.waitForTaskToken``): the token in ``$$.Task.Token``, answers, timeouts,
heartbeats, snapshots and resuming, and the ``send-task-*`` commands across processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cirrus.cli.statemachine import statemachine
from cirrus.engine import (
    Execution,
    MemoryTaskTokens,
    PythonFunctions,
    StateMachine,
    inspect_state,
    send_task_failure,
    send_task_heartbeat,
    send_task_success,
)
from cirrus.errors import TaskTokenError
from cirrus.state.task_tokens import SQLiteTaskTokens

REPO = Path(__file__).resolve().parents[2]


def definition(**task_fields: Any) -> dict[str, Any]:
    """Ask (hands the token to the 'ask' function), then Record the answer."""
    return {
        "StartAt": "Prepare",
        "States": {
            "Prepare": {"Type": "Pass", "Result": {"item": "x"}, "Next": "Ask"},
            "Ask": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Parameters": {
                    "FunctionName": "ask",
                    "Payload": {"item.$": "$.item", "token.$": "$$.Task.Token"},
                },
                "ResultPath": "$.answer",
                "Next": "Record",
                **task_fields,
            },
            "Record": {"Type": "Pass", "End": True},
        },
    }


class Asker:
    """The function the Task state runs: keeps each token it is handed."""

    def __init__(self) -> None:
        self.tokens: list[str] = []
        self.handed = threading.Event()

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        self.tokens.append(event["token"])
        self.handed.set()
        return {"sent": True}


def start(asker: Asker, tokens: Any = None, **task_fields: Any) -> tuple[Execution, dict[str, Any]]:
    machine = StateMachine.from_dict(
        definition(**task_fields), resolver=PythonFunctions({"ask": asker})
    )
    execution = Execution(machine, {}, tokens=tokens)
    box: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: box.update(result=execution.run()), daemon=True)
    thread.start()
    box["thread"] = thread
    assert asker.handed.wait(5), "the task never got its token"
    return execution, box


def finish(box: dict[str, Any]) -> Any:
    box["thread"].join(10)
    assert not box["thread"].is_alive()
    return box["result"]


def test_success_gives_the_state_its_result() -> None:
    asker = Asker()
    _, box = start(asker)
    send_task_success(asker.tokens[0], {"approved": True})
    result = finish(box)
    assert result.succeeded, result.cause
    assert result.output == {"item": "x", "answer": {"approved": True}}
    kinds = [event["type"] for event in result.events]
    assert kinds[kinds.index("TaskScheduled") :][:4] == [
        "TaskScheduled",
        "TaskStarted",
        "TaskSubmitted",
        "TaskSucceeded",
    ]
    scheduled = next(e for e in result.events if e["type"] == "TaskScheduled")
    assert scheduled["taskScheduledEventDetails"]["resource"] == "invoke.waitForTaskToken"


def test_failure_fails_the_state_and_can_be_caught() -> None:
    # callback/test_callback::test_sqs_failure_in_wait_for_task_token: the sent error and
    # cause become the state's.
    asker = Asker()
    _, box = start(asker)
    send_task_failure(asker.tokens[0], "Rejected", "not this time")
    result = finish(box)
    assert (result.error, result.cause) == ("Rejected", "not this time")
    asker = Asker()
    _, box = start(
        asker, Catch=[{"ErrorEquals": ["Rejected"], "ResultPath": "$.why", "Next": "Record"}]
    )
    send_task_failure(asker.tokens[0], "Rejected", "no")
    result = finish(box)
    assert result.output["why"] == {"Error": "Rejected", "Cause": "no"}


def test_timeout_without_an_answer() -> None:
    # callback/test_callback::test_sqs_wait_for_task_token_timeout: TaskTimedOut, States.Timeout.
    asker = Asker()
    _, box = start(asker, TimeoutSeconds=1)
    result = finish(box)
    assert result.error == "States.Timeout"
    assert any(e["type"] == "TaskTimedOut" for e in result.events)
    with pytest.raises(TaskTokenError):
        send_task_success(asker.tokens[0], {})


def test_missed_heartbeat_times_out_and_heartbeats_keep_it_alive() -> None:
    # timeouts/test_heartbeats::test_heartbeat_timeout: no heartbeat within
    # HeartbeatSeconds ends the task with States.Timeout (well before TimeoutSeconds).
    asker = Asker()
    began = time.monotonic()
    _, box = start(asker, TimeoutSeconds=30, HeartbeatSeconds=1)
    result = finish(box)
    assert result.error == "States.Timeout" and time.monotonic() - began < 10
    # callback/test_callback::test_sqs_wait_for_task_tok_with_heartbeat: heartbeats sent
    # in time keep it waiting past HeartbeatSeconds until the answer comes.
    asker = Asker()
    _, box = start(asker, TimeoutSeconds=30, HeartbeatSeconds=1)
    for _ in range(4):
        time.sleep(0.5)
        send_task_heartbeat(asker.tokens[0])
    send_task_success(asker.tokens[0], "done")
    result = finish(box)
    assert result.succeeded and result.output["answer"] == "done"


def test_unknown_token_is_refused() -> None:
    with pytest.raises(TaskTokenError) as caught:
        send_task_success("no-such-token", {})
    assert caught.value.error == "TaskDoesNotExist"


def test_abort_stops_the_wait() -> None:
    asker = Asker()
    execution, box = start(asker)
    execution.abort()
    result = finish(box)
    assert result.status.value == "ABORTED"


class CrashingTokens(MemoryTaskTokens):
    """A store that outlives a 'crashed' execution: closing is what a killed process skips."""

    def __init__(self) -> None:
        super().__init__()
        self.crashed = False

    def close(self, token: str) -> None:
        if not self.crashed:
            super().close(token)


def test_snapshot_and_resume_waits_again_without_running_the_task_twice() -> None:
    asker = Asker()
    tokens = CrashingTokens()
    snapshots: list[dict[str, Any]] = []
    machine = StateMachine.from_dict(definition(), resolver=PythonFunctions({"ask": asker}))
    first = Execution(
        machine,
        {},
        tokens=tokens,
        on_wait=lambda snap: snapshots.append(json.loads(json.dumps(snap))),
    )
    thread = threading.Thread(target=first.run, daemon=True)
    thread.start()
    assert asker.handed.wait(5)
    tokens.crashed = True  # the process dies here
    first.abort()
    thread.join(5)
    (snapshot,) = snapshots
    assert snapshot["state"] == "Ask" and snapshot["token"] == asker.tokens[0]

    resumed = Execution.resume(machine, snapshot, tokens=tokens)
    box: dict[str, Any] = {}
    runner = threading.Thread(target=lambda: box.update(result=resumed.run()), daemon=True)
    runner.start()
    time.sleep(0.2)
    tokens.crashed = False
    send_task_success(asker.tokens[0], {"approved": True}, tokens=tokens)
    runner.join(10)
    result = box["result"]
    assert result.succeeded, result.cause
    assert result.output == {"item": "x", "answer": {"approved": True}}
    assert len(asker.tokens) == 1  # the task was not run again
    kinds = [event["type"] for event in result.events]
    assert kinds.count("ExecutionStarted") == 1 and kinds.count("TaskScheduled") == 1
    assert [event["id"] for event in result.events] == list(range(1, len(kinds) + 1))


# --------------------------------------------------------------------------- across processes


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CIRRUS_"))}
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run(
        [sys.executable, "-m", "cirrus", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_send_task_success_from_another_process(tmp_path: Path) -> None:
    # The execution waits in this process on the state database's token table; the
    # answer comes from `cirrus statemachine send-task-success`, another process.
    store = SQLiteTaskTokens(tmp_path / ".cirrus" / "state.db")
    asker = Asker()
    _, box = start(asker, tokens=store)
    (tmp_path / "answer.json").write_text('{"approved": "yes"}')
    done = cli(
        "statemachine",
        "send-task-success",
        asker.tokens[0],
        "--output",
        "@answer.json",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    result = finish(box)
    assert result.output["answer"] == {"approved": "yes"}
    again = cli("statemachine", "send-task-success", asker.tokens[0], cwd=tmp_path)
    assert again.returncode == 1 and again.stderr.startswith("TaskDoesNotExist:")


def test_send_task_failure_and_heartbeat_commands(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CIRRUS_STATE_DB", raising=False)
    monkeypatch.delenv("CIRRUS_PROJECT", raising=False)
    store = SQLiteTaskTokens(tmp_path / ".cirrus" / "state.db")
    asker = Asker()
    _, box = start(asker, tokens=store, TimeoutSeconds=30, HeartbeatSeconds=2)
    runner = CliRunner()
    beat = runner.invoke(statemachine, ["send-task-heartbeat", asker.tokens[0]])
    assert beat.exit_code == 0, beat.output
    failed = runner.invoke(
        statemachine,
        ["send-task-failure", asker.tokens[0], "--error", "Rejected", "--cause", "by a human"],
    )
    assert failed.exit_code == 0, failed.output
    result = finish(box)
    assert (result.error, result.cause) == ("Rejected", "by a human")
    bad = runner.invoke(statemachine, ["send-task-success", "tok", "--output", "{nope"])
    assert bad.exit_code == 2 and "--output is not valid JSON" in bad.stderr


def test_test_state_of_a_token_task_waits_for_the_answer() -> None:
    asker = Asker()
    machine = StateMachine.from_dict(definition(), resolver=PythonFunctions({"ask": asker}))
    box: dict[str, Any] = {}
    thread = threading.Thread(
        target=lambda: box.update(
            result=inspect_state(machine, "Ask", {"item": "x"}, inspection_level="DEBUG")
        ),
        daemon=True,
    )
    thread.start()
    assert asker.handed.wait(5)
    send_task_success(asker.tokens[0], "yes")
    thread.join(10)
    result = box["result"]
    assert result.status == "SUCCEEDED" and result.next_state == "Record"
    assert result.output == {"item": "x", "answer": "yes"}
    assert result.inspection["afterParameters"]["Payload"]["token"] == asker.tokens[0]


def test_run_without_token_tasks_leaves_no_state_database(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CIRRUS_STATE_DB", raising=False)
    monkeypatch.delenv("CIRRUS_PROJECT", raising=False)
    machine = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    (tmp_path / "m.json").write_text(json.dumps(machine))
    (tmp_path / "in.json").write_text("{}")
    result = CliRunner().invoke(statemachine, ["run", "m.json", "--input", "in.json"])
    assert result.exit_code == 0, result.output
    assert not (tmp_path / ".cirrus").exists()
