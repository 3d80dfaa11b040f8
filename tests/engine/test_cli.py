"""``cirrus statemachine run`` and ``validate``: output, exit codes, history file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from cirrus.cli.statemachine import statemachine


def write(tmp_path: Path, name: str, value: Any) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(value))
    return str(path)


MACHINE = {
    "StartAt": "C",
    "States": {
        "C": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.ok", "BooleanEquals": True, "Next": "Yes"}],
            "Default": "No",
        },
        "Yes": {
            "Type": "Pass",
            "Parameters": {"greeting.$": "States.Format('hi {}', $.name)"},
            "End": True,
        },
        "No": {"Type": "Fail", "Error": "NotOk", "Cause": "ok was false"},
    },
}


def test_run_succeeded(tmp_path: Path) -> None:
    definition = write(tmp_path, "m.json", MACHINE)
    data = write(tmp_path, "in.json", {"ok": True, "name": "ana"})
    history = tmp_path / "h.json"
    result = CliRunner().invoke(
        statemachine, ["run", definition, "--input", data, "--history", str(history)]
    )
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"greeting": "hi ana"}
    assert json.loads(history.read_text())[-1]["type"] == "ExecutionSucceeded"


def test_run_failed_reads_stdin(tmp_path: Path) -> None:
    definition = write(tmp_path, "m.json", MACHINE)
    result = CliRunner().invoke(
        statemachine,
        ["run", definition, "--input", "-", "--time-scale", "0"],
        input='{"ok": false}',
    )
    assert result.exit_code == 1
    assert json.loads(result.stdout) == {"error": "NotOk", "cause": "ok was false"}


def test_invalid_definition_exits_2(tmp_path: Path) -> None:
    definition = write(
        tmp_path, "m.json", {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}}}
    )
    data = write(tmp_path, "in.json", {})
    result = CliRunner().invoke(statemachine, ["run", definition, "--input", data])
    assert result.exit_code == 2
    assert "State 'A': MISSING_TRANSITION_TARGET" in result.stderr
    assert result.stdout == ""
    result = CliRunner().invoke(statemachine, ["validate", definition])
    assert result.exit_code == 2


def test_validate_ok(tmp_path: Path) -> None:
    result = CliRunner().invoke(statemachine, ["validate", write(tmp_path, "m.json", MACHINE)])
    assert result.exit_code == 0
    assert "valid" in result.stderr
