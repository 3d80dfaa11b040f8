"""Task results too big for Step Functions travel by reference, as they do on AWS.

A state may return at most 256 KiB; a lambda-type task whose output is longer hands on
``{"url": ...}`` to a stored copy (what the AWS task function does too). The next task and
the pipeline read it like any reference, and the copies are removed when the execution
ends for good (a failed one keeps them while it can be redriven).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cirrus.storage import load_payload
from cirrus.task import resolve_task
from cirrus.task.results import MAX_RESULT_BYTES, fit_result, take_stored_results
from cirrus.task.runner import TaskRunner
from cirrus.task.tasklog import ExecutionLog, bound

from .conftest import FIXTURE_TASKS, Proj, add_workflow, item, payload

ITEMS = 1_000  # about 330 KB of items: more than a state may return


def _big(workflow: str, *, fail: str | None = None) -> dict[str, Any]:
    items = [item(f"i{n:04d}", fail=(f"i{n:04d}" == fail)) for n in range(ITEMS)]
    return payload(*items, workflow=workflow)


def _leftovers(proj: Proj) -> list[str]:
    return list(proj.payload_store.list("tmp/results"))


def test_a_workflow_of_a_thousand_items_passes_its_results_by_reference(proj: Proj) -> None:
    assert len(json.dumps(_big("stamp-only"))) > MAX_RESULT_BYTES  # the test means something
    proj.write_payloads([_big("stamp-only")])

    run = proj.cirrus("process", "in.ndjson", "--wait")

    assert run.json()["succeeded"] == 1, run.stderr
    (record,) = proj.records().values()
    (output,) = proj.outputs(record["payload_id"])
    # stamp's result reached publish by reference, and publish's came back to the pipeline
    assert len(output["features"]) == ITEMS
    assert all(feature["properties"]["stamped"] for feature in output["features"])
    assert {link["rel"] for link in output["features"][0]["links"]} == {"self", "canonical"}
    assert len(proj.published) == ITEMS
    assert (proj.cirrus_dir / "data" / "test" / "i0999" / "i0999.json").exists()
    assert _leftovers(proj) == []


PAD = resolve_task(f"{FIXTURE_TASKS / 'pad.py'}:Pad")  # adds properties.padding


def _padded(size: int) -> dict[str, Any]:
    return {**payload(item("one"), workflow="w", tasks={"pad": {"size": size}}), "id": "test/w/one"}


def test_the_runner_stores_a_big_result_where_the_execution_ends_it(tmp_path: Path) -> None:
    root = tmp_path.as_uri()
    runner = TaskRunner(lambda name: PAD, payload_root=root)
    with bound(ExecutionLog("test/w/one", "e1"), "e1"):
        whole = runner.run_lambda("pad", _padded(MAX_RESULT_BYTES))
        big = runner.store_result(whole)

    assert whole["features"][0]["properties"]["padding"] == "x" * MAX_RESULT_BYTES
    assert big["url"].startswith(f"{root}/tmp/results/test/w/one/")
    assert load_payload(big) == whole
    # the executor removes what the execution stored, once, when it ends
    assert take_stored_results("e1") == [big["url"]]
    assert take_stored_results("e1") == []


def test_a_payload_of_many_items_gets_a_short_reference(tmp_path: Path) -> None:
    # the id joins every item id: in the URL it would make the reference too big itself
    many = {**_padded(10), "id": "test/w/" + "/".join(f"{n:09d}" for n in range(100))}
    runner = TaskRunner(lambda name: PAD, payload_root=tmp_path.as_uri())

    big = runner.store_result(many)

    assert big["url"].startswith(f"{tmp_path.as_uri()}/tmp/results/sha256-")
    assert len(big["url"]) < len(tmp_path.as_uri()) + 150
    assert load_payload(big) == many


def test_a_failed_execution_keeps_its_copies_for_a_redrive(proj: Proj) -> None:
    from tests.runtime.test_redrive import _add_flaky

    _add_flaky(proj)  # workflow "fragile": stamp, then a task failing until a file exists
    ok = proj.root / "ok"
    big = item("r1", pad="x" * 300_000)  # stamp's result goes on by reference
    proj.write_payloads([payload(big, workflow="fragile", tasks={"flaky": {"ok_file": str(ok)}})])
    pid = "test/workflow-fragile/r1"
    proj.cirrus("process", "in.ndjson", "--wait", check=False)
    assert "ConnectionError" in proj.records()[pid]["last_error"]
    assert len(_leftovers(proj)) == 1  # the failed state's input, for the redrive

    ok.write_text("back")
    proj.cirrus("redrive", pid)
    proj.cirrus("worker", "--until-empty")

    record = proj.records()[pid]
    assert record["state"] == "SUCCEEDED", record["last_error"]
    (output,) = proj.outputs(pid)  # a redrive goes on with the same execution
    assert output["features"][0]["properties"]["pad"] == "x" * 300_000
    assert _leftovers(proj) == []  # gone once the execution ended for good


def test_a_batch_task_given_a_reference_leaves_no_copy(proj: Proj) -> None:
    # the batch task writes its output beside its input, under tmp/results: removed too
    steps = [("stamp", "cirrus:lambda:stamp"), ("check", "cirrus:batch:maybe-fail")]
    add_workflow(proj, "mixed", [*steps, ("publish", "cirrus:lambda:publish")])
    proj.write_payloads([payload(item("m1", pad="x" * 300_000), workflow="mixed")])

    run = proj.cirrus("process", "in.ndjson", "--wait")

    assert run.json()["succeeded"] == 1, run.stderr
    assert _leftovers(proj) == []


def test_the_aws_function_sizes_its_result_as_the_lambda_runtime_sends_it(
    tmp_path: Path,
) -> None:
    # spaces after separators make the runtime's JSON longer than the compact form
    features = [item(f"i{n:05d}") for n in range(1000)]
    output = {"type": "FeatureCollection", "id": "c/workflow-w/x", "features": features}
    compact = len(json.dumps(output, separators=(",", ":")))
    assert compact < MAX_RESULT_BYTES < len(json.dumps(output))

    returned = fit_result(output, tmp_path.as_uri())

    assert set(returned) == {"url"}
    assert load_payload(returned) == output


def test_a_big_input_that_failed_its_first_state_can_be_redriven(proj: Proj) -> None:
    from tests.runtime.test_redrive import _add_flaky

    _add_flaky(proj)
    add_workflow(
        proj,
        "flaky-first",
        [("flaky", "cirrus:lambda:flaky"), ("publish", "cirrus:lambda:publish")],
    )
    ok = proj.root / "ok"
    # longer than url_payload_threshold: the execution starts with {"url": ...}
    big = item("f1", pad="x" * 150_000)
    proj.write_payloads(
        [payload(big, workflow="flaky-first", tasks={"flaky": {"ok_file": str(ok)}})]
    )
    pid = "test/workflow-flaky-first/f1"
    proj.cirrus("process", "in.ndjson", "--wait", check=False)
    assert "ConnectionError" in proj.records()[pid]["last_error"]

    ok.write_text("back")
    proj.cirrus("redrive", pid)
    proj.cirrus("worker", "--until-empty")

    record = proj.records()[pid]
    assert record["state"] == "SUCCEEDED", record["last_error"]
    assert list(proj.payload_store.list("tmp/oversized")) == []
