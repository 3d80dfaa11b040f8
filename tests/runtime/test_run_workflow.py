"""``cirrus run-workflow``: one payload, synchronously, with exit statuses for scripts."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.runtime.conftest import Proj, item, payload, payload_id


def test_succeeded_prints_the_output_payload_and_exits_0(proj: Proj) -> None:
    (proj.root / "p.json").write_text(json.dumps(payload(item("a"))))
    run = proj.cirrus("run-workflow", "p.json")
    output = run.json()
    assert output["id"] == payload_id("a")
    assert output["features"][0]["properties"]["stamped"] is True
    assert proj.outputs(payload_id("a")) == [output]

    # a second run does not execute again; it reports and prints the stored output
    again = proj.cirrus("run-workflow", "p.json")
    assert again.json() == output
    assert "already succeeded" in again.stderr
    record = proj.cirrus("get-state", payload_id("a")).json()
    assert record["state"] == "SUCCEEDED"
    assert len(record["executions"]) == 1


@pytest.mark.parametrize(
    ("properties", "state", "error"),
    [
        pytest.param({"fail": True}, "FAILED", "RuntimeError: asked to fail x", id="failed"),
        pytest.param(
            {"invalid": "cirrus"}, "INVALID", "InvalidInput: item x is not usable", id="invalid"
        ),
    ],
)
def test_failed_or_invalid_exits_10(
    proj: Proj, properties: dict[str, Any], state: str, error: str
) -> None:
    run = proj.cirrus(
        "run-workflow", "-", input=json.dumps(payload(item("x", **properties))), check=False
    )
    assert run.returncode == 10
    assert run.stdout == ""
    assert error in run.stderr
    record = proj.cirrus("get-state", payload_id("x")).json()
    assert (record["state"], record["last_error"]) == (state, error)


def test_timed_out_exits_11_and_is_recorded_failed(proj: Proj) -> None:
    (proj.root / "p.json").write_text(json.dumps(payload(item("t"), workflow="timeout")))
    run = proj.cirrus("run-workflow", "p.json", check=False)
    assert run.returncode == 11
    assert "timed_out" in run.stderr
    pid = payload_id("t", workflow="timeout")
    record = proj.cirrus("get-state", pid).json()
    assert record["state"] == "FAILED"
    # upstream Cirrus's text for an execution that ran out of time
    assert record["last_error"] == "TimedOutError: The step function execution timed out."
    events = proj.cirrus("get-execution-events", pid, "--workflow-events").ndjson()
    assert events[-1]["event_type"] == "TIMED_OUT"
    assert not (proj.cirrus_dir / "data" / "test" / "t").exists()  # publish never ran


def test_task_state_timeout_is_a_task_failure_and_exits_10(proj: Proj) -> None:
    # a Task state's own TimeoutSeconds raises States.Timeout in the workflow (catchable,
    # as on Step Functions); uncaught, the execution fails rather than times out
    napping = payload(item("n"), workflow="task-timeout", tasks={"nap": {"seconds": 5}})
    run = proj.cirrus("run-workflow", "-", input=json.dumps(napping), check=False)
    assert run.returncode == 10
    record = proj.cirrus("get-state", payload_id("n", workflow="task-timeout")).json()
    assert record["state"] == "FAILED"
    # the execution failed (it did not run out of time): the state's own error is kept
    assert record["last_error"].startswith("States.Timeout")


def test_rejected_payload_is_reported_without_a_none_id(proj: Proj) -> None:
    run = proj.cirrus(
        "run-workflow", "-", input='{"type": "FeatureCollection", "features": []}', check=False
    )
    assert run.returncode == 2, "refused before it runs, as cirrus payload validate refuses it"
    assert "process is required" in run.stderr
    assert "None" not in run.stderr
