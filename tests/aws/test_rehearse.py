"""A rehearsal: the built stack deployed to the moto server and run for real.

The deployed process and update-state handlers run, the deployed (rendered) state machine
runs on cirrus's engine, and its Lambda ARNs invoke the task handler from the built code
zip in processes of their own, with each function's deployed environment.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import boto3
import pytest

from cirrus.aws.rehearse import rehearse
from cirrus.project import Project
from tests.aws_server import LocalAWS

SMALL = Path(__file__).parent.parent / "fixtures" / "projects" / "small"

# moto warns about the resource types it skips (the stack's queue policy)
pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse:UserWarning")


def _payload(item: str) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "stac_version": "1.0.0",
                "id": item,
                "collection": "c",
                "properties": {"datetime": "2024-05-01T00:00:00Z"},
                "geometry": None,
                "bbox": [0, 0, 1, 1],
                "links": [],
                "assets": {},
            }
        ],
        "process": [
            {"workflow": "hello", "upload_options": {"path_template": "${collection}/${id}"}}
        ],
    }


@pytest.fixture
def project(tmp_path: Path) -> Project:
    root = tmp_path / "small"
    shutil.copytree(SMALL, root)
    return Project(root)


def test_the_small_project_runs_end_to_end_on_the_emulator(
    aws: LocalAWS, project: Project, tmp_path: Path
) -> None:
    result = rehearse(project, [_payload("one"), _payload("two")], environment=aws.environment())
    assert result.executions == 2
    states = sorted((r["payload_id"], r["state"]) for r in result.records)
    assert states == [
        ("c/workflow-hello/one", "SUCCEEDED"),
        ("c/workflow-hello/two", "SUCCEEDED"),
    ]
    # the task ran from the built zip and published: the items are in the data bucket
    s3 = boto3.client("s3")
    buckets = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    keys = [
        item["Key"]
        for bucket in buckets
        for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    ]
    assert {"c/one/one.json", "c/two/two.json"} <= set(keys), keys


def test_the_command_prints_every_record(project: Project, tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    from tests.runtime.conftest import clean_env

    payloads = tmp_path / "payloads.ndjson"
    payloads.write_text(json.dumps(_payload("solo")) + "\n")
    run = subprocess.run(
        [sys.executable, "-m", "cirrus", "rehearse", str(payloads), "--project", str(project.root)],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    [record] = [json.loads(line) for line in run.stdout.splitlines()]
    assert (record["payload_id"], record["state"]) == ("c/workflow-hello/solo", "SUCCEEDED")
    assert "execution(s) ran" in run.stderr
