"""A pipeline execution waiting for a task token survives its worker.

The workflow stamps the payload (logging each run), hands a ``.waitForTaskToken`` state's
token to the ``handoff`` task (logging the token), waits for the answer, and publishes.
The worker is SIGKILLed while the execution waits; a new worker resumes the execution where
it waited (the same execution, the same token) without running stamp or handoff again, and
``cirrus statemachine send-task-success`` from another process completes it.
"""

from __future__ import annotations

import json
import shutil
import signal
import time
from pathlib import Path
from typing import Any

from tests.runtime.conftest import FIXTURE_TASKS, Proj, item, payload, payload_id

WORKFLOW = {
    "StartAt": "stamp",
    "States": {
        "stamp": {"Type": "Task", "Resource": "cirrus:lambda:stamp", "Next": "approve"},
        "approve": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {
                "FunctionName": "handoff",
                "Payload": {
                    "type.$": "$.type",
                    "id.$": "$.id",
                    "features.$": "$.features",
                    "process.$": "$.process",
                    "token.$": "$$.Task.Token",
                },
            },
            "ResultPath": "$.approval",
            "TimeoutSeconds": 300,
            "Next": "publish",
        },
        "publish": {"Type": "Task", "Resource": "cirrus:lambda:publish", "End": True},
    },
}


def _add_handoff(proj: Proj) -> None:
    folder = proj.root / "tasks" / "handoff"
    (folder / "src" / "task").mkdir(parents=True)
    (folder / "definition.yml").write_text(
        'description: "handoff test task"\nlambda:\n  handler: task.handler\n'
    )
    shutil.copyfile(FIXTURE_TASKS / "handoff.py", folder / "src" / "task" / "task.py")
    (folder / "README.md").write_text("# handoff\n\nHands a task token on.\n")
    workflow = proj.root / "workflows" / "approval"
    workflow.mkdir(parents=True)
    document = {"description": "waits for an approval", "definition": WORKFLOW}
    (workflow / "definition.yml").write_text(json.dumps(document, indent=2))
    (workflow / "README.md").write_text("# approval\n\nWaits for a task token.\n")


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def _wait_for(path: Path, timeout: float = 60) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if lines := _lines(path):
            return lines
        time.sleep(0.05)
    raise AssertionError(f"nothing in {path} after {timeout} s")


def test_worker_killed_while_waiting_resumes_and_send_task_success_completes(
    proj: Proj,
) -> None:
    _add_handoff(proj)
    stamps, tokens = proj.root / "stamp.log", proj.root / "tokens.log"
    tasks: dict[str, Any] = {
        "stamp": {"exec_log": str(stamps)},
        "handoff": {"token_log": str(tokens)},
    }
    proj.write_payloads([payload(item("a1"), workflow="approval", tasks=tasks)])
    pid = payload_id("a1", "approval")

    first = proj.popen("process", "in.ndjson", "--wait", start_new_session=True)
    try:
        (token,) = _wait_for(tokens)
        time.sleep(0.3)  # the snapshot is kept before the wait begins; let it land
        assert first.poll() is None, "the run ended while it should wait for its token"
        first.send_signal(signal.SIGKILL)
    finally:
        first.communicate(timeout=30)
    waiting = proj.records()[pid]
    assert waiting["state"] == "PROCESSING"

    second = proj.popen("worker", "--until-empty")
    try:
        # wait until the new worker holds the payload: it resumed the execution
        deadline = time.monotonic() + 60
        while proj.records()[pid]["claim_owner"] in (None, waiting["claim_owner"]):
            assert time.monotonic() < deadline, "the new worker never took the payload"
            assert second.poll() is None, second.communicate()[1]
            time.sleep(0.1)
        time.sleep(0.5)
        assert second.poll() is None, "the resumed execution should wait for its token"
        # the resumed execution waits on the same token: the answer reaches it
        answer = proj.cirrus(
            "statemachine", "send-task-success", token, "--output", '{"approved": true}'
        )
        assert answer.returncode == 0, answer.stderr
        _out, err = second.communicate(timeout=120)
    finally:
        if second.poll() is None:
            second.kill()
    assert second.returncode == 0, err

    record = proj.records()[pid]
    assert record["state"] == "SUCCEEDED"
    assert len(record["executions"]) == 1  # the same execution went on
    assert _lines(stamps) == [pid]  # the earlier task ran once
    assert _lines(tokens) == [token]  # the token was handed on once
    (output,) = proj.outputs(pid)
    assert output["approval"] == {"approved": True}
    again = proj.cirrus("statemachine", "send-task-success", token, check=False)
    assert again.returncode == 1 and "TaskDoesNotExist" in again.stderr
