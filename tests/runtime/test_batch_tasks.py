"""Batch-type tasks run in processes of their own, with payloads passed through the store."""

from __future__ import annotations

from tests.runtime.conftest import Proj, item, payload, payload_id


def test_a_workflow_of_batch_tasks_succeeds_and_leaves_no_transient_copies(proj: Proj) -> None:
    proj.write_payloads([payload(item("b1"), workflow="on-batch")])
    summary = proj.cirrus("process", "in.ndjson", "--wait").json()
    assert summary == {"queued": 1, "rejected": 0, "succeeded": 1}
    (output,) = proj.outputs(payload_id("b1", "on-batch"))
    assert output["features"][0]["properties"]["stamped"] is True
    assert [line["item"]["id"] for line in proj.published] == ["b1"]
    assert proj.stored("tmp/batch") == {}


def test_a_failing_batch_task_gives_its_own_error_and_keeps_its_input(proj: Proj) -> None:
    pid = payload_id("b2", "on-batch")
    proj.write_payloads([payload(item("b2", fail=True), workflow="on-batch")])
    run = proj.cirrus("process", "in.ndjson", "--wait", check=False)
    assert run.returncode == 1
    record = proj.records()[pid]
    assert record["state"] == "FAILED"
    assert record["last_error"] == "RuntimeError: asked to fail b2"
    kept = proj.stored(f"tmp/batch/{pid}")
    inputs = [value for key, value in kept.items() if not key.endswith("_out.json")]
    assert [value["features"][0]["id"] for value in inputs] == ["b2"]
