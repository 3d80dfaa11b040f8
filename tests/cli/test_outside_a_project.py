"""Outside a project the pipeline commands say so, and make nothing; missing files are one line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

import pytest

NOT_A_PROJECT = "not inside a cirrus project (use --project or CIRRUS_PROJECT)"


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(("process", "payloads.ndjson", "--wait"), id="process"),
        pytest.param(("run-workflow", "payload.json"), id="run-workflow"),
        pytest.param(("worker", "--until-empty"), id="worker"),
        pytest.param(("query", "--state", "FAILED"), id="query"),
        pytest.param(("get-state", "a/workflow-b/c"), id="get-state"),
        pytest.param(("mgmt", "local", "query"), id="mgmt-local-query"),
        pytest.param(("mgmt", "local", "process", "payloads.ndjson"), id="mgmt-local-process"),
        pytest.param(("validate",), id="validate"),
        pytest.param(("build",), id="build"),
    ],
)
def test_pipeline_commands_outside_a_project_say_so(
    tmp_path: Path, cirrus_cmd: Callable[..., CompletedProcess[str]], args: tuple[str, ...]
) -> None:
    payload = (
        '{"type": "FeatureCollection", "features": [{"id": "a"}], "process": [{"workflow": "w"}]}'
    )
    (tmp_path / "payloads.ndjson").write_text(payload + "\n")
    (tmp_path / "payload.json").write_text(payload)
    result = cirrus_cmd(*args, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: {NOT_A_PROJECT}"), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / ".cirrus").exists()  # nothing made silently


def test_a_state_database_named_by_the_environment_is_enough(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    cirrus_cmd: Callable[..., CompletedProcess[str]],
) -> None:
    # as `cirrus mgmt <deployment>` runs the commands: the settings come from the environment
    monkeypatch.setenv("CIRRUS_STATE_DB", str(tmp_path / "elsewhere" / "state.db"))
    result = cirrus_cmd("query", cwd=tmp_path)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(("process", "nofile.ndjson"), id="process"),
        pytest.param(("run-workflow", "nofile.json"), id="run-workflow"),
        pytest.param(("payload", "get-id", "nofile.json"), id="payload-get-id"),
        pytest.param(("run", "task", "publish", "nofile.json"), id="run-task"),
        pytest.param(("payload", "template", "nofile.json"), id="payload-template"),
        pytest.param(("statemachine", "run", "nofile.yml", "--input", "-"), id="statemachine"),
        pytest.param(("rehearse", "nofile.ndjson"), id="rehearse"),
        pytest.param(("cost", "--sample", "nofile.ndjson"), id="cost-sample"),
    ],
)
def test_a_missing_input_file_is_one_line(
    tmp_path: Path, cirrus_cmd: Callable[..., CompletedProcess[str]], args: tuple[str, ...]
) -> None:
    (tmp_path / "cirrus.yml").write_text("name: p\n")
    result = cirrus_cmd(*args, cwd=tmp_path)
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: no such file: nofile."), result.stderr
