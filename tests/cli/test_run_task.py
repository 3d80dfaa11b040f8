"""``cirrus run task`` and a task file's own command line, in real subprocesses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import run_cirrus
from tests.task.conftest import make_payload

FIXTURES = Path(__file__).parent.parent / "fixtures" / "tasks"


@pytest.fixture
def payload_file(tmp_path: Path) -> Path:
    scene = tmp_path / "scene.tif"
    scene.write_bytes(b"II*\x00data")
    scene.with_name("meta.xml").write_text("<metadata/>")
    path = tmp_path / "payload.json"
    data = make_payload(scene, f"{(tmp_path / 'out').as_uri()}/${{collection}}/${{id}}")
    data["features"][0]["properties"]["title"] = "hello"
    path.write_text(json.dumps(data))
    return path


def with_parameters(path: Path, **parameters: Any) -> Path:
    data = json.loads(path.read_text())
    data["process"][0]["tasks"] = {"add-title": parameters}
    path.write_text(json.dumps(data))
    return path


def test_copy_assets_from_the_command_line(payload_file: Path, tmp_path: Path) -> None:
    result = run_cirrus("run", "task", "copy-assets", str(payload_file))
    assert result.returncode == 0, result.stderr
    item = json.loads(result.stdout)["features"][0]
    copied = tmp_path / "out" / "sentinel-2-l2a" / "S2B_17HQD_20201103_0_L2A" / "scene.tif"
    assert copied.read_bytes() == b"II*\x00data"
    assert item["assets"]["data"]["href"] == copied.as_uri()


def test_copy_assets_to_s3(payload_file: Path, s3_bucket: str) -> None:
    data = json.loads(payload_file.read_text())
    data["process"][0]["upload_options"]["path_template"] = f"s3://{s3_bucket}/${{id}}"
    data["process"][0]["upload_options"]["s3_urls"] = True  # the default, false, gives https
    data["process"][0]["tasks"] = {"copy-assets": {"assets": ["data"]}}
    result = run_cirrus("run", "task", "copy-assets", "-", stdin=json.dumps(data))
    assert result.returncode == 0, result.stderr
    href = json.loads(result.stdout)["features"][0]["assets"]["data"]["href"]
    assert href == f"s3://{s3_bucket}/S2B_17HQD_20201103_0_L2A/scene.tif"
    from cirrus.storage import read_bytes

    assert read_bytes(href) == b"II*\x00data"


def test_ported_stactask_task_runs(payload_file: Path, tmp_path: Path) -> None:
    with_parameters(payload_file, title="A title")
    out = tmp_path / "result.json"
    result = run_cirrus(
        "run",
        "task",
        f"{FIXTURES}/ported_task.py:AddTitle",
        str(payload_file),
        "--output",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    item = json.loads(out.read_text())["features"][0]
    assert item["properties"]["title"] == "A title"
    assert item["properties"]["processing:software"] == {"add-title": "2.0.0"}


def test_genuine_stactask_task_runs(payload_file: Path) -> None:
    result = run_cirrus("run", "task", f"{FIXTURES}/genuine_stactask.py:Shout", str(payload_file))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["features"][0]["properties"]["title"] == "HELLO"


def test_genuine_stactask_invalid_input_exits_2(payload_file: Path) -> None:
    data = json.loads(payload_file.read_text())
    del data["features"][0]["properties"]["title"]
    result = run_cirrus(
        "run", "task", f"{FIXTURES}/genuine_stactask.py:Shout", "-", stdin=json.dumps(data)
    )
    assert result.returncode == 2
    assert "InvalidInput: item S2B_17HQD_20201103_0_L2A has no title" in result.stderr


@pytest.mark.parametrize(
    ("fail", "status", "message"),
    [
        pytest.param("crash", 1, "RuntimeError: disk on fire", id="failure"),
        pytest.param("invalid", 2, "InvalidInput: the item has no usable data", id="invalid"),
    ],
)
def test_exit_status_and_error(payload_file: Path, fail: str, status: int, message: str) -> None:
    with_parameters(payload_file, fail=fail)
    result = run_cirrus("run", "task", f"{FIXTURES}/ported_task.py:AddTitle", str(payload_file))
    assert result.returncode == status
    assert message in result.stderr
    assert result.stdout == ""


def test_bad_payload_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"features": [{"id": "x"}], "process": []}))
    result = run_cirrus("run", "task", "copy-assets", str(bad))
    assert result.returncode == 2
    assert "$.process is empty" in result.stderr


def test_unknown_task_names_the_known_ones(payload_file: Path) -> None:
    result = run_cirrus("run", "task", "nope", str(payload_file))
    assert result.returncode == 1
    assert "copy-assets" in result.stderr


def test_task_file_command_line_with_references(payload_file: Path, tmp_path: Path) -> None:
    with_parameters(payload_file, title="batch")
    out = tmp_path / "payload_out.json"
    reference = tmp_path / "ref.json"
    reference.write_text(json.dumps({"url": payload_file.as_uri(), "url_out": out.as_uri()}))
    result = subprocess.run(
        [sys.executable, str(FIXTURES / "ported_task.py"), "run", str(reference)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"url": out.as_uri()}
    assert json.loads(out.read_text())["features"][0]["properties"]["title"] == "batch"


def test_task_file_local_mode(payload_file: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(FIXTURES / "ported_task.py"), "run", str(payload_file), "--local"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    output = json.loads((tmp_path / "local-output" / "output-payload.json").read_text())
    assert output["features"][0]["properties"]["title"] == "untitled"


def test_pre_batch_in_a_project_stores_under_its_payload_root(
    payload_file: Path, tmp_path: Path
) -> None:
    project = tmp_path / "proj"
    assert run_cirrus("init", str(project)).returncode == 0
    result = run_cirrus("run", "task", "pre-batch", str(payload_file), cwd=project)
    assert result.returncode == 0, result.stderr
    reference = json.loads(result.stdout)
    root = f"sqlite://{(project / '.cirrus' / 'payloads.db').as_posix()}"
    assert reference["url"].startswith(f"{root}/tmp/batch/sentinel-2-l2a/workflow-cog-archive/")
    from cirrus.storage import read_json

    assert read_json(reference["url"]) == json.loads(payload_file.read_text())
