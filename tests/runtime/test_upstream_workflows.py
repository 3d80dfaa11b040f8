"""Workflows as upstream Cirrus users write them validate and run unchanged.

The project ``tests/fixtures/projects/upstream`` has a ``publish-only`` style workflow, the
``pre-batch`` -> ``batch:submitJob.sync`` -> ``post-batch`` pattern with serverless's
``"#{...}"`` names and ``IntervalSeconds: 10.0``, ``Fn::GetAtt: [task, Arn]`` everywhere,
no ``description`` and bare ``Fail`` states; its stub tasks are written to stactask 0.7's
``self.payload`` API (``describe``) and to the older API (``add-title``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.runtime.conftest import Proj

FIXTURES = Path(__file__).parent.parent / "fixtures"
PAYLOAD = json.loads((FIXTURES / "payloads" / "sentinel-2-l2a-many-assets.json").read_text())
FIRST, SECOND = (feature["id"] for feature in PAYLOAD["features"])


@pytest.fixture
def upstream(tmp_path: Path) -> Proj:
    root = tmp_path / "upstream"
    shutil.copytree(FIXTURES / "projects" / "upstream", root)
    return Proj(root)


def _payload(workflow: str, **tasks: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(json.dumps(PAYLOAD))
    data["process"] = [
        {
            "workflow": workflow,
            "upload_options": {
                "path_template": "${collection}/${year}/${month}/${id}",
                "public_assets": "ALL",
            },
            "tasks": tasks,
        }
    ]
    return data


def _pid(workflow: str, *items: str) -> str:
    return f"sentinel-2-l2a/workflow-{workflow}/{'/'.join(sorted(items))}"


def test_they_validate(upstream: Proj) -> None:
    run = upstream.cirrus("validate")
    assert "is valid: 2 task(s), 3 workflow(s)" in run.stdout + run.stderr
    shown = upstream.cirrus("show", "workflows").stdout
    assert "Runs describe as a Batch job the upstream way" in shown  # Comment as description


@pytest.mark.parametrize("workflow", ["two-apis", "batch-pattern"])
def test_tasks_of_both_apis_run_in_them(upstream: Proj, workflow: str) -> None:
    data = _payload(workflow, **{"add-title": {"title": "T"}})
    output = upstream.cirrus("run-workflow", "-", input=json.dumps(data)).json()
    for item in output["features"]:
        assert item["properties"]["asset_count"] == 19  # describe, self.payload API
        assert item["properties"]["title"] == "T"  # add-title, the older API
    published = upstream.root / ".cirrus" / "data" / "sentinel-2-l2a" / "2023" / "1" / FIRST
    assert (published / f"{FIRST}.json").is_file()  # ${month} as pystac writes it


def test_publish_only(upstream: Proj) -> None:
    output = upstream.cirrus("run-workflow", "-", input=json.dumps(_payload("publish-only"))).json()
    assert {item["id"] for item in output["features"]} == {FIRST, SECOND}


def test_a_failed_batch_job_is_recorded_with_its_error_through_a_bare_fail(upstream: Proj) -> None:
    data = _payload("batch-pattern", describe={"fail": True})
    run = upstream.cirrus("run-workflow", "-", input=json.dumps(data), check=False)
    assert run.returncode == 10
    record = upstream.cirrus("get-state", _pid("batch-pattern", FIRST, SECOND)).json()
    # post-batch raised the job's last log line; the Fail state has no ErrorPath/CausePath,
    # so the error comes from the execution's history
    assert (record["state"], record["last_error"]) == ("FAILED", "ValueError: asked to fail")
    found = upstream.cirrus("query", "--error-prefix", "ValueError").ndjson()
    assert [r["payload_id"] for r in found] == [_pid("batch-pattern", FIRST, SECOND)]


def test_mgmt_get_state_prints_upstreams_item(upstream: Proj) -> None:
    upstream.cirrus("run-workflow", "-", input=json.dumps(_payload("publish-only")))
    pid = _pid("publish-only", FIRST, SECOND)
    item = upstream.cirrus("mgmt", "local", "get-state", pid).json()
    assert item["items"] == f"{SECOND}/{FIRST}"
    assert item["state"] == "SUCCEEDED"
    assert item["state_updated"] == f"SUCCEEDED_{item['updated']}"
    [execution] = item["executions"]
    assert item["input_payload_url"].endswith(f"/executions/{pid}/{execution}/input.json")
    assert item["output_payload_url"].endswith(f"/executions/{pid}/{execution}/output.json")
    assert "last_error" not in item
    own = upstream.cirrus("get-state", pid).json()  # ours keeps its own shape
    assert own["itemids"] == item["items"] and "claim_owner" in own


def test_a_workflow_ending_with_null_output_succeeds_with_nothing_stored(upstream: Proj) -> None:
    folder = upstream.root / "workflows" / "ends-with-null"
    folder.mkdir()
    (folder / "definition.yml").write_text(
        "definition:\n  Comment: Ends with null\n  StartAt: nothing\n  States:\n"
        "    nothing:\n      Type: Pass\n      Result: null\n      End: true\n"
    )
    data = _payload("ends-with-null")
    upstream.cirrus("run-workflow", "-", input=json.dumps(data), check=False)
    record = upstream.cirrus("get-state", _pid("ends-with-null", FIRST, SECOND)).json()
    assert (record["state"], record["output_url"], record["last_error"]) == (
        "SUCCEEDED",
        None,
        None,
    )
