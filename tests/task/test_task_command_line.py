"""stactask's command line, ``python task.py run ...``, for tasks of either API."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).parent.parent / "fixtures"
PAYLOAD = FIXTURES / "payloads" / "sentinel-2-l2a-many-assets.json"
ROOT = Path(__file__).parent.parent.parent


@pytest.fixture(params=["payload_api_task.py", "ported_task.py"], ids=["payload-api", "older-api"])
def task_file(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    target = tmp_path / "task.py"
    shutil.copy(FIXTURES / "tasks" / request.param, target)
    return target


def _run(*args: str, stdin: str | None = None, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
        check=False,
    )


def _payload() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(PAYLOAD.read_text())
    data["process"][0]["tasks"] = {"add-title": {"title": "t"}, "describe": {"label": "d"}}
    return data


def test_run_with_no_upload_and_no_validate(task_file: Path, tmp_path: Path) -> None:
    (tmp_path / "payload.json").write_text(json.dumps(_payload()))
    run = _run(str(task_file), "run", "payload.json", "--no-upload", "--no-validate", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    [first, _] = json.loads(run.stdout)["features"]
    assert first["properties"].get("title") == "t" or first["properties"]["d"]["assets"] == 19


def test_run_reads_stdin_without_an_input_file(task_file: Path, tmp_path: Path) -> None:
    output = tmp_path / "out" / "output.json"
    run = _run(
        str(task_file),
        "run",
        "--upload",
        "--validate",
        "--output",
        str(output),
        stdin=json.dumps(_payload()),
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    assert len(json.loads(output.read_text())["features"]) == 2


def test_version_and_help(task_file: Path, tmp_path: Path) -> None:
    version = _run(str(task_file), "--version", cwd=tmp_path)
    assert version.returncode == 0
    assert version.stdout.strip() in ("0.7.0", "2.0.0")
    bare = _run(str(task_file), cwd=tmp_path)
    assert bare.returncode == 0
    assert "usage:" in bare.stdout and "run" in bare.stdout


def test_a_payload_without_a_workflow_is_accepted_by_a_task(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "tasks" / "payload_api_task.py", tmp_path / "task.py")
    data = _payload()
    del data["process"][0]["workflow"]
    run = _run("task.py", "run", "--no-upload", stdin=json.dumps(data), cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    described = json.loads(run.stdout)["features"][0]["properties"]["d"]
    assert described == {
        "assets": 19,
        "path_template": data["process"][0]["upload_options"]["path_template"],
        "workflow": None,
    }


@pytest.mark.parametrize(
    ("file", "entry", "check"),
    [
        pytest.param("payload_api_task.py", "Describe", ("d", "workflow"), id="payload-api"),
        pytest.param("ported_task.py", "AddTitle", ("title",), id="older-api"),
    ],
)
def test_cirrus_run_task_takes_stactask_flags(
    tmp_path: Path, file: str, entry: str, check: tuple[str, ...]
) -> None:
    (tmp_path / "payload.json").write_text(json.dumps(_payload()))
    task = FIXTURES / "tasks" / file
    run = _run(
        "-m",
        "cirrus",
        "run",
        "task",
        f"{task}:{entry}",
        "payload.json",
        "--no-upload",
        "--no-validate",
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    value: Any = json.loads(run.stdout)["features"][1]["properties"]
    for key in check:
        value = value[key]
    assert value in ("cog-archive", "t")
