"""One scenario, three ways to run it, the same results.

``tests/fixtures/scenarios/pipeline.json`` (a 3-task workflow, a failure, an INVALID, a chain
with ``chain_filter``, a rerun with ``replace``) runs:

- through the embedded pipeline (SQLite state, queue and payloads, in-process engine);
- through the deployed functions (``process`` and ``update-state``) on AWS services on the
  moto server (DynamoDB, S3, SQS, Step Functions), driven as Lambda's SQS mapping and
  EventBridge would drive them (:mod:`cirrus.aws.rehearsal`);
- through local workers pointed at those AWS services by ``cirrus.yml`` (``state_db:
  dynamodb://...``, ``payload_root: s3://...``, ``queue: sqs://...``).

All three must end with the same records, workflow events per payload and output payloads,
and match the scenario's own expectations.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from cirrus.aws.handlers.process import ProcessFunction
from cirrus.aws.handlers.update_state import UpdateStateFunction
from cirrus.aws.rehearsal import ExecutionRunner, QueueDelivery, run_until_quiet
from cirrus.payload import Payload
from cirrus.project import Project, init_project
from cirrus.project.task_resolver import ProjectTaskResolver
from cirrus.queue import open_queue
from cirrus.queue.sqs import ensure_queue
from cirrus.runtime import Pipeline
from cirrus.state import StateDB, open_state_db
from cirrus.storage import read_json
from tests.aws.conftest import Deployment, fresh_deployment
from tests.aws_server import LocalAWS

FIXTURES = Path(__file__).parent.parent / "fixtures"
SCENARIO = json.loads((FIXTURES / "scenarios" / "pipeline.json").read_text())
TASK_FILES = {
    "stamp": "stamp.py",
    "maybe-fail": "maybe_fail.py",
    "check": "check.py",
}


def _definition(tasks: list[str]) -> dict[str, Any]:
    states: dict[str, Any] = {}
    for index, task in enumerate(tasks):
        state: dict[str, Any] = {"Type": "Task", "Resource": f"cirrus:lambda:{task}"}
        if index + 1 < len(tasks):
            state["Next"] = tasks[index + 1]
        else:
            state["End"] = True
        states[task] = state
    return {"StartAt": tasks[0], "States": states}


DEFINITIONS = {name: _definition(tasks) for name, tasks in SCENARIO["workflows"].items()}


@pytest.fixture
def project(tmp_path: Path) -> Project:
    root = init_project(tmp_path / "scenario")
    for name, file in TASK_FILES.items():
        folder = root / "tasks" / name
        (folder / "src" / "task").mkdir(parents=True)
        (folder / "definition.yml").write_text(f"description: {name}\nlambda: {{}}\n")
        (folder / "README.md").write_text(f"# {name}\n")
        shutil.copyfile(FIXTURES / "tasks" / file, folder / "src" / "task" / "task.py")
    for name, definition in DEFINITIONS.items():
        folder = root / "workflows" / name
        folder.mkdir(parents=True)
        document = {"description": name, "definition": definition}
        (folder / "definition.yml").write_text(json.dumps(document))
        (folder / "README.md").write_text(f"# {name}\n")
    return Project(root)


def _payloads(round_: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "id": item["id"],
                    "collection": "c",
                    "properties": {
                        "datetime": "2024-05-01T00:00:00Z",
                        **item.get("properties", {}),
                    },
                    "geometry": None,
                    "links": [],
                    "assets": {},
                }
                for item in spec["items"]
            ],
            "process": spec["process"],
        }
        for spec in round_
    ]


def _summary(db: StateDB, payload_ids: list[str]) -> dict[str, Any]:
    """Records, events and outputs, without times and execution names."""
    summary: dict[str, Any] = {}
    for payload_id in payload_ids:
        record = db.get(payload_id)
        assert record is not None, payload_id
        output = read_json(record.output_url) if record.output_url else None
        summary[payload_id] = {
            "state": str(record.state),
            "last_error": record.last_error,
            "executions": len(record.executions),
            "events": [str(event.event_type) for event in db.events(payload_id=payload_id)],
            "output": output and {"id": output["id"], "features": output["features"]},
        }
    return summary


def _ids() -> list[str]:
    ids = {Payload.from_dict(p).id for round_ in SCENARIO["rounds"] for p in _payloads(round_)}
    return sorted(ids | set(SCENARIO["expect"]))


def _embedded(project: Project) -> dict[str, Any]:
    pipeline = Pipeline.for_project(project, time_scale=0)
    try:
        for round_ in SCENARIO["rounds"]:
            pipeline.submit(_payloads(round_))
            pipeline.drain()
        return _summary(pipeline.db, _ids())
    finally:
        pipeline.close()


def _on_aws(project: Project, deployment: Deployment) -> dict[str, Any]:
    for workflow, definition in DEFINITIONS.items():
        deployment.add_workflow(workflow, definition)
    url = ensure_queue(f"{deployment.prefix}-process")
    deployment.environment["CIRRUS_PROCESS_QUEUE_URL"] = url
    settings = deployment.settings()
    queue = open_queue(settings.runtime.queue)  # what the functions open: sqs://<url>
    process = ProcessFunction(settings)
    update_state = UpdateStateFunction(settings)
    resolver = ProjectTaskResolver.for_project(
        project,
        payload_root=settings.runtime.payload_root,
        data_root=settings.runtime.data_root,
    )
    runner = ExecutionRunner(
        deployment.aws.client("stepfunctions"),
        deployment.base_workflow_arn,
        DEFINITIONS,
        resolver,
        update_state,
    )
    delivery = QueueDelivery(queue, process)
    for round_ in SCENARIO["rounds"]:
        queue.send_many([json.dumps(payload) for payload in _payloads(round_)])
        run_until_quiet(delivery, runner)
    return _summary(open_state_db(settings.runtime.state_db), _ids())


def _local_workers_on_aws(project: Project, deployment: Deployment) -> dict[str, Any]:
    url = ensure_queue(f"{deployment.prefix}-shared")
    with (project.root / "cirrus.yml").open("a") as config:
        config.write(
            f"state_db: dynamodb://{deployment.table}\n"
            f"payload_root: s3://{deployment.payload_bucket}/cirrus\n"
            f"data_root: s3://{deployment.data_bucket}\n"
            f"queue: sqs://{url}\n"
        )
    shared = Project(project.root)
    assert shared.config.state_db == f"dynamodb://{deployment.table}"
    return _embedded(shared)


def test_the_scenario_gives_the_same_results_embedded_and_on_aws(
    project: Project, deployment: Deployment, aws: LocalAWS
) -> None:
    embedded = _embedded(project)
    for payload_id, expected in SCENARIO["expect"].items():
        found = {key: embedded[payload_id][key] for key in expected}
        assert found == expected, payload_id
    assert _on_aws(project, deployment) == embedded
    aws.reset()  # a fresh account for the local workers
    deployment = fresh_deployment(aws)
    assert _local_workers_on_aws(project, deployment) == embedded
