"""Scaffolds run as created, and their workflows keep every error (real ``cirrus`` processes)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml


def cirrus(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cirrus", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=120,
        check=False,
    )


def ok(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    result = cirrus(*args, cwd=cwd)
    assert result.returncode == 0, f"cirrus {' '.join(args)}: {result.stderr}"
    return result


def new_project(tmp_path: Path) -> Path:
    ok("init", "x", cwd=tmp_path)
    return tmp_path / "x"


def test_a_created_task_runs_its_test_payload_through_the_pipeline(tmp_path: Path) -> None:
    root = new_project(tmp_path)
    created = ok("create", "task", "t", "d", cwd=root)
    assert "workflow test-t" in created.stderr
    ok("validate", cwd=root)
    result = ok("run-workflow", "tasks/t/test-payload.json", cwd=root)
    output = json.loads(result.stdout)
    assert output["features"][0]["id"] == "t-example"
    record = json.loads(ok("get-state", output["id"], cwd=root).stdout)
    assert record["state"] == "SUCCEEDED"


def test_a_batch_task_runs_its_test_payload_too(tmp_path: Path) -> None:
    root = new_project(tmp_path)
    ok("create", "task", "b", "a batch task", "--type", "batch", cwd=root)
    ok("run-workflow", "tasks/b/test-payload.json", cwd=root)


def _make_task_raise(root: Path, task: str, raised: str) -> None:
    code = root / "tasks" / task / "src/task/task.py"
    text = code.read_text()
    body = "        items = self.items_as_dicts\n"
    assert body in text
    code.write_text(text.replace(body, f"        {raised}\n{body}"))


def test_a_failing_task_in_a_created_workflow_keeps_its_error(tmp_path: Path) -> None:
    root = new_project(tmp_path)
    ok("create", "task", "boom", "fails", cwd=root)
    _make_task_raise(root, "boom", "raise RuntimeError('the sensor exploded')")
    ok("create", "workflow", "w", "runs boom then publishes", cwd=root)
    # the created workflow as it is, with boom in front of publish and caught the same way
    file = root / "workflows/w/definition.yml"
    workflow = yaml.safe_load(file.read_text())
    states = workflow["definition"]["States"]
    assert states["failure"]["ErrorPath"] == "$.error.Error"
    assert states["failure"]["CausePath"] == "$.error.Cause"
    states["boom"] = {
        "Type": "Task",
        "Resource": "cirrus:lambda:boom",
        "Catch": states["publish"]["Catch"],
        "Next": "publish",
    }
    workflow["definition"]["StartAt"] = "boom"
    file.write_text(yaml.safe_dump(workflow))
    payload = json.loads((root / "tasks/boom/test-payload.json").read_text())
    payload["process"][0]["workflow"] = "w"
    (root / "payload.json").write_text(json.dumps(payload))

    failed = cirrus("run-workflow", "payload.json", cwd=root)
    assert failed.returncode == 10
    assert "RuntimeError: the sensor exploded" in failed.stderr
    (record,) = [
        json.loads(line)
        for line in ok("query", "--error-prefix", "RuntimeError", cwd=root).stdout.splitlines()
    ]
    assert record["state"] == "FAILED"
    assert record["last_error"] == "RuntimeError: the sensor exploded"


def test_invalid_input_in_a_created_workflow_is_invalid_not_failed(tmp_path: Path) -> None:
    root = new_project(tmp_path)
    ok("create", "task", "picky", "refuses its input", cwd=root)
    _make_task_raise(root, "picky", "raise InvalidInput('no red band')")
    code = root / "tasks/picky/src/task/task.py"
    code.write_text(
        code.read_text().replace(
            "from cirrus.task import Task",
            "from cirrus import InvalidInput\nfrom cirrus.task import Task",
        )
    )
    invalid = cirrus("run-workflow", "tasks/picky/test-payload.json", cwd=root)
    assert invalid.returncode == 10
    (record,) = [
        json.loads(line) for line in ok("query", "--state", "INVALID", cwd=root).stdout.splitlines()
    ]
    assert record["last_error"].startswith("InvalidInput")
    assert "no red band" in record["last_error"]


def test_statemachine_run_publishes_only_when_asked(tmp_path: Path) -> None:
    root = new_project(tmp_path)
    ok("create", "task", "t", "d", cwd=root)
    ok("create", "workflow", "w", "publishes", cwd=root)
    payload = json.loads((root / "tasks/t/test-payload.json").read_text())
    payload["process"][0]["workflow"] = "w"
    (root / "input.json").write_text(json.dumps(payload))
    published = root / ".cirrus/data/example/t-example/t-example.json"
    args = ("statemachine", "run", "workflows/w/definition.yml", "--input", "input.json")

    trial = ok(*args, cwd=root)
    assert "not publishing" in trial.stderr
    assert "--publish" in trial.stderr
    assert json.loads(trial.stdout)["features"] == payload["features"]
    assert not published.exists()

    real = ok(*args, "--publish", cwd=root)
    assert "not publishing" not in real.stderr
    assert json.loads(published.read_text())["id"] == "t-example"


def test_created_files_point_to_a_guide_that_is_shipped(tmp_path: Path) -> None:
    root = new_project(tmp_path)
    ok("create", "task", "t", "d", "--type", "lambda", "--type", "batch", cwd=root)
    for kind in ("workflow", "feeder", "function"):
        ok("create", kind, f"my-{kind}", "d", cwd=root)
    texts = {path: path.read_text() for path in root.rglob("*") if path.is_file()}
    assert not [path for path, text in texts.items() if "docs/" in text]
    pointing = [path for path, text in texts.items() if "cirrus show guide" in text]
    assert root / "tasks/t/definition.yml" in pointing
    guide = ok("show", "guide", cwd=root).stdout
    assert guide.startswith("# Projects\n")
    assert "definition.yml" in guide
    pages = {
        m[1] for text in texts.values() for m in re.finditer(r"cirrus show guide ([\w-]+)", text)
    }
    for page in pages:  # every page a created file names is shipped
        assert ok("show", "guide", page, cwd=root).stdout.startswith("# ")
