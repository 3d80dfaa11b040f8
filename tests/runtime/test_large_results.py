"""Task results too big for Step Functions travel by reference, as they do on AWS.

A state may return at most 256 KiB; a lambda-type task whose output is longer hands on
``{"url": ...}`` to a stored copy (what the AWS task function does too). The next task and
the pipeline read it like any reference, and the copies are removed when the execution
ends, whichever way it ends.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cirrus.storage import load_payload
from cirrus.task import Task
from cirrus.task.results import MAX_RESULT_BYTES, take_stored_results
from cirrus.task.runner import TaskRunner
from cirrus.task.tasklog import ExecutionLog, bound

from .conftest import Proj, item, payload

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


def test_the_copies_of_a_failed_execution_are_removed_too(proj: Proj) -> None:
    # stamp hands on its big result, then maybe-fail fails on one item
    proj.write_payloads([_big("three", fail="i0500")])

    run = proj.cirrus("process", "in.ndjson", "--wait", check=False)

    assert run.json()["failed"] == 1, run.stderr
    (record,) = proj.records().values()
    assert record["last_error"] == "RuntimeError: asked to fail i0500"
    assert _leftovers(proj) == []


class Pad(Task):
    """Adds ``size`` characters to the first item."""

    name = "pad"
    description = "pads the first item"
    version = "1.0.0"

    def process(self, size: int = 0, **kwargs: Any) -> list[dict[str, Any]]:
        items = self.items_as_dicts
        items[0]["properties"]["pad"] = "x" * size
        return items


def _padded(size: int) -> dict[str, Any]:
    return {**payload(item("one"), workflow="w", tasks={"pad": {"size": size}}), "id": "test/w/one"}


def test_the_runner_stores_a_big_result_where_the_execution_ends_it(tmp_path: Path) -> None:
    root = tmp_path.as_uri()
    runner = TaskRunner(lambda name: Pad, payload_root=root)
    with bound(ExecutionLog("test/w/one", "e1"), "e1"):
        whole = runner.run_lambda("pad", _padded(MAX_RESULT_BYTES))
        big = runner.store_result(whole)

    assert whole["features"][0]["properties"]["pad"] == "x" * MAX_RESULT_BYTES
    assert big["url"].startswith(f"{root}/tmp/results/test/w/one/")
    assert load_payload(big) == whole
    # the executor removes what the execution stored, once, when it ends
    assert take_stored_results("e1") == [big["url"]]
    assert take_stored_results("e1") == []


def test_a_payload_of_many_items_gets_a_short_reference(tmp_path: Path) -> None:
    # the id joins every item id: in the URL it would make the reference too big itself
    many = {**_padded(10), "id": "test/w/" + "/".join(f"{n:09d}" for n in range(100))}
    runner = TaskRunner(lambda name: Pad, payload_root=tmp_path.as_uri())

    big = runner.store_result(many)

    assert big["url"].startswith(f"{tmp_path.as_uri()}/tmp/results/sha256-")
    assert len(big["url"]) < len(tmp_path.as_uri()) + 150
    assert load_payload(big) == many
