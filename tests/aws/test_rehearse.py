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
from tests.subscriptions import Topics

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


def test_the_demo_rehearses_end_to_end_and_is_managed_with_mgmt(
    aws: LocalAWS, topics: Topics, tmp_path: Path
) -> None:
    import copy
    import json

    from click.testing import CliRunner

    from cirrus.aws.rehearse import deploy_rehearsal
    from cirrus.cli.main import cli
    from cirrus.demo.run import _make_data, prepare_folder

    folder = tmp_path / "demo"
    prepare_folder(folder)
    inputs = folder / ".cirrus" / "input"
    _make_data(folder).make_inputs(inputs, scenes=2)
    payloads = [json.loads(line) for line in (inputs / "payloads.ndjson").read_text().splitlines()]
    # the second scene goes on to the built-in publish-only workflow: a chain
    payloads[1]["process"].append(
        {"workflow": "publish-only", "upload_options": {"path_template": "chained/${id}"}}
    )
    broken = copy.deepcopy(payloads[0])
    broken["features"][0]["id"] = "broken-scene"
    broken["features"][0]["assets"]["data"]["href"] = str(tmp_path / "missing.tif")
    with deploy_rehearsal(Project(folder), environment=aws.environment()) as rehearsal:
        topic = rehearsal.settings.runtime.publish_topic
        assert topic is not None
        subscribed = topics.subscribe(topic, raw=True)
        result = rehearsal.run([*payloads, broken])
        prefix = rehearsal.prefix
    states = {record["payload_id"]: record for record in result.records}
    assert sorted(record["state"] for record in states.values()) == [
        "FAILED",
        "SUCCEEDED",
        "SUCCEEDED",
        "SUCCEEDED",
    ]
    chained = [p for p in states if "/workflow-publish-only/" in p]
    assert len(chained) == 1 and states[chained[0]]["state"] == "SUCCEEDED"
    [failed] = [r for r in states.values() if r["state"] == "FAILED"]
    assert "broken-scene" in failed["payload_id"]
    assert failed["last_error"] and "missing.tif" in failed["last_error"]
    announced = [json.loads(message["Body"]) for message in topics.received(subscribed)]
    scenes = sorted(p["features"][0]["id"] for p in payloads)
    # every scene once from cog-thumbnail, the chained one again from publish-only
    again = payloads[1]["features"][0]["id"]
    assert sorted(item["id"] for item in announced) == sorted([*scenes, again])
    assert all("cog" in item["assets"] and "thumbnail" in item["assets"] for item in announced)

    def mgmt(*args: str, stdin: str | None = None) -> Any:
        run = CliRunner().invoke(cli, ["mgmt", prefix, *args], input=stdin)
        assert run.exit_code == 0, run.output
        return run.stdout

    succeeded = [p for p, r in states.items() if r["state"] == "SUCCEEDED"]
    assert json.loads(mgmt("get-state", succeeded[0]))["state"] == "SUCCEEDED"
    found = [json.loads(line)["payload_id"] for line in mgmt("query").splitlines()]
    assert sorted(found) == sorted(states)
    output = json.loads(mgmt("get-output-payload", succeeded[0]))
    assert output["features"][0]["assets"]["cog"]["href"].startswith("s3://")
    rerun = mgmt("get-input-payloads", "--state", "FAILED", "--rerun")
    assert json.loads(rerun)["process"][0]["replace"] is True
    mgmt("process", "-", stdin=rerun)  # queued on the deployed process queue
    queue_url = rehearsal.settings.runtime.queue.removeprefix("sqs://")
    waiting = topics.sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )
    assert waiting["Attributes"]["ApproximateNumberOfMessages"] == "1"
