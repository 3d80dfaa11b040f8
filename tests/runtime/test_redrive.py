"""``cirrus redrive PAYLOAD_ID``: a failed payload runs again from the state that failed.

The workflow stamps the payload (logging each run), then calls ``flaky``, which fails until
a file exists, then publishes. After the failure the file is made and the payload redriven:
it succeeds, in the same execution, and stamp did not run again.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from tests.runtime.conftest import FIXTURE_TASKS, Proj, item, payload, payload_id

WORKFLOW = {
    "StartAt": "stamp",
    "States": {
        "stamp": {"Type": "Task", "Resource": "cirrus:lambda:stamp", "Next": "flaky"},
        "flaky": {"Type": "Task", "Resource": "cirrus:lambda:flaky", "Next": "publish"},
        "publish": {"Type": "Task", "Resource": "cirrus:lambda:publish", "End": True},
    },
}


def _add_flaky(proj: Proj) -> None:
    folder = proj.root / "tasks" / "flaky"
    (folder / "src" / "task").mkdir(parents=True)
    (folder / "definition.yml").write_text(
        'description: "flaky test task"\nlambda:\n  handler: task.handler\n'
    )
    shutil.copyfile(FIXTURE_TASKS / "flaky.py", folder / "src" / "task" / "task.py")
    (folder / "README.md").write_text("# flaky\n\nFails until a file exists.\n")
    workflow = proj.root / "workflows" / "fragile"
    workflow.mkdir(parents=True)
    document = {"description": "stamps, then calls a flaky service", "definition": WORKFLOW}
    (workflow / "definition.yml").write_text(json.dumps(document, indent=2))
    (workflow / "README.md").write_text("# fragile\n\nStamps, then calls a flaky service.\n")


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_redrive_reruns_from_the_failed_state(proj: Proj) -> None:
    _add_flaky(proj)
    stamps, runs, ok = proj.root / "stamp.log", proj.root / "flaky.log", proj.root / "ok"
    tasks: dict[str, Any] = {
        "stamp": {"exec_log": str(stamps)},
        "flaky": {"ok_file": str(ok), "run_log": str(runs)},
    }
    proj.write_payloads([payload(item("r1"), workflow="fragile", tasks=tasks)])
    pid = payload_id("r1", "fragile")
    first = proj.cirrus("process", "in.ndjson", "--wait", check=False)
    assert first.returncode == 1  # a payload failed
    failed = proj.records()[pid]
    assert failed["state"] == "FAILED"
    assert _lines(stamps) == [pid] and len(_lines(runs)) == 1

    ok.write_text("back")
    asked = proj.cirrus("redrive", pid).json()
    assert asked == {
        "payload_id": pid,
        "execution": failed["executions"][0],
        "redrive_from": "flaky",
        "redrive_count": 1,
        "queued": True,
    }
    proj.cirrus("worker", "--until-empty")

    record = proj.records()[pid]
    assert record["state"] == "SUCCEEDED"
    assert record["executions"] == failed["executions"]  # the same execution went on
    assert _lines(stamps) == [pid]  # the state before the failure was not run again
    assert len(_lines(runs)) == 2
    (output,) = proj.outputs(pid)
    assert output["features"][0]["properties"]["stamped"] is True

    again = proj.cirrus("redrive", pid, check=False)
    assert again.returncode != 0
    assert "SUCCEEDED and cannot be redriven" in again.stderr and again.stdout == ""


def test_redrive_of_an_unknown_payload(proj: Proj) -> None:
    result = proj.cirrus("redrive", "test/workflow-none/x", check=False)
    assert result.returncode != 0
    assert "no state record for payload 'test/workflow-none/x'" in result.stderr
