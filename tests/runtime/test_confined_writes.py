"""Confined writes: templates outside the roots are refused before any task runs, allowed
roots are honoured, ids a task makes cannot leave the root at publish, and nothing is
published that is not strict JSON."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from tests.runtime.conftest import Proj, item, payload, payload_id

RENAME = """
from cirrus.task import Task


class Rename(Task):
    name = "rename"
    description = "gives every item the id in its parameters"
    version = "1.0.0"

    def process(self, new_id="", value=None, **kwargs):
        items = self.items_as_dicts
        for each in items:
            if new_id:
                each["id"] = new_id
            if value is not None:
                each["properties"]["value"] = float(value)
        return items


handler = Rename.handler
"""


def add_rename(proj: Proj) -> None:
    """The task ``rename`` and workflows ``rename`` (rename, publish), ``rename-only``."""
    folder = proj.root / "tasks" / "rename"
    (folder / "src" / "task").mkdir(parents=True)
    (folder / "src" / "task" / "task.py").write_text(RENAME)
    (folder / "definition.yml").write_text(
        'description: "renames items"\nlambda:\n  handler: task.handler\n'
    )
    (folder / "README.md").write_text("# rename\n")
    for name, states in {
        "rename": {
            "rename": {"Type": "Task", "Resource": "cirrus:lambda:rename", "Next": "publish"},
            "publish": {"Type": "Task", "Resource": "cirrus:lambda:publish", "End": True},
        },
        "rename-only": {
            "rename": {"Type": "Task", "Resource": "cirrus:lambda:rename", "End": True},
        },
    }.items():
        workflow = proj.root / "workflows" / name
        workflow.mkdir(parents=True)
        definition = {"StartAt": "rename", "States": states}
        (workflow / "definition.yml").write_text(
            json.dumps({"description": name, "definition": definition})
        )
        (workflow / "README.md").write_text(f"# {name}\n")


def test_an_absolute_template_is_refused_before_any_task_runs(proj: Proj, tmp_path: Path) -> None:
    marker = f"escape-{uuid.uuid4().hex}"
    log = tmp_path / "runs.log"
    data = payload(
        item(marker),
        workflow="stamp-only",
        tasks={"stamp": {"exec_log": str(log)}},
        upload_options={"path_template": "/"},
    )
    run = proj.cirrus("process", "-", "--wait", input=json.dumps(data), check=False)
    assert run.json()["rejected"] == 1
    assert "path_template" in run.stderr and "allowed_roots" in run.stderr
    assert not log.exists(), "a task ran for a payload refused at intake"
    assert not Path(f"/{marker}.json").exists()
    assert proj.records() == {}


def test_a_template_under_an_allowed_root_publishes_there(proj: Proj, tmp_path: Path) -> None:
    catalog = tmp_path / "catalog"
    with (proj.root / "cirrus.yml").open("a") as config:
        config.write(f"allowed_roots: [{catalog}]\n")
    data = payload(
        item("a"),
        workflow="stamp-only",
        upload_options={"path_template": f"{catalog}/${{collection}}/${{id}}"},
    )
    assert proj.cirrus("process", "-", "--wait", input=json.dumps(data)).json()["succeeded"] == 1
    assert (catalog / "test" / "a" / "a.json").is_file()


def test_an_item_id_made_by_a_task_cannot_leave_the_data_root(proj: Proj, tmp_path: Path) -> None:
    add_rename(proj)
    escaped = "../" * 12 + f"tmp/escaped-{uuid.uuid4().hex}"
    # the id is not in the template: it reaches the path only as the item file's name
    data = payload(
        item("a"),
        workflow="rename",
        tasks={"rename": {"new_id": escaped}},
        upload_options={"path_template": "${collection}"},
    )
    run = proj.cirrus("process", "-", "--wait", input=json.dumps(data), check=False)
    assert run.json()["failed"] == 1
    record = proj.records()[payload_id("a", "rename")]
    assert record["state"] == "FAILED" and "'..'" in record["last_error"]
    # where the id would have led: the filesystem's /tmp, out of every root
    name = escaped.rsplit("/", 1)[-1]
    assert not Path(f"/tmp/{name}.json").exists() and not Path(f"/tmp/{name}").exists()
    assert proj.published == []


def _strict(text: str) -> Any:
    def refuse(name: str) -> Any:
        raise ValueError(f"{name} in published JSON")

    return json.loads(text, parse_constant=refuse)


def test_nan_made_by_a_task_fails_its_payload_instead_of_publishing_invalid_json(
    proj: Proj,
) -> None:
    add_rename(proj)
    batch = [
        payload(item("nan"), workflow="rename", tasks={"rename": {"value": "nan"}}),
        payload(item("inf"), workflow="rename-only", tasks={"rename": {"value": "inf"}}),
        payload(item("fine"), workflow="rename", tasks={"rename": {"value": "1.5"}}),
    ]
    path = proj.write_payloads(batch)
    summary = proj.cirrus("process", path.name, "--wait", check=False).json()
    assert (summary["succeeded"], summary["failed"]) == (1, 2)
    records = proj.records()
    assert "NaN" in records[payload_id("nan", "rename")]["last_error"]
    assert "not JSON" in records[payload_id("inf", "rename-only")]["last_error"]
    log = (proj.cirrus_dir / "published.ndjson").read_text()
    assert [_strict(line)["item"]["id"] for line in log.splitlines()] == ["fine"]
    for output in proj.outputs(payload_id("fine", "rename")):
        _strict(json.dumps(output))
