"""What every ``cirrus`` command shares: lazy loading, choices from the enums, exit codes."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import cirrus.cli
from cirrus.cli.exits import ExitCode, exit_code
from cirrus.cli.main import COMMANDS, cli
from cirrus.cli.manage import get_input_payloads, query
from cirrus.errors import (
    CirrusError,
    ConfigError,
    DefinitionError,
    FailedValidation,
    InvalidInput,
    NotFound,
    PathEscapeError,
    PayloadError,
    StateError,
    TaskError,
)
from cirrus.state import State


def test_every_listed_command_loads() -> None:
    context = click.Context(cli)
    assert cli.list_commands(context) == sorted(COMMANDS)
    for name in COMMANDS:
        command = cli.get_command(context, name)
        assert isinstance(command, click.Command), name
    assert cli.get_command(context, "no-such-command") is None


def _choices(command: click.Command, name: str) -> list[str]:
    option = next(param for param in command.params if param.name == name)
    assert isinstance(option.type, click.Choice)
    return [str(choice) for choice in option.type.choices]


def test_state_filters_offer_every_state() -> None:
    states = [state.value for state in State]
    assert _choices(query, "state") == states
    assert _choices(get_input_payloads, "state") == states


@pytest.mark.parametrize(
    ("error", "code"),
    [
        pytest.param(InvalidInput("bad"), ExitCode.INVALID, id="invalid-input"),
        pytest.param(PayloadError("$.id", "is wrong"), ExitCode.INVALID, id="payload-error"),
        pytest.param(FailedValidation("no"), ExitCode.FAILED, id="failed-validation"),
        pytest.param(PathEscapeError("../x"), ExitCode.INVALID, id="path-escape"),
        pytest.param(DefinitionError("State 'A': bad"), ExitCode.INVALID, id="definition"),
        pytest.param(ConfigError("no such task"), ExitCode.FAILED, id="config"),
        pytest.param(NotFound("nothing there"), ExitCode.FAILED, id="not-found"),
        pytest.param(StateError("locked"), ExitCode.FAILED, id="state"),
        pytest.param(TaskError("RuntimeError", "boom"), ExitCode.FAILED, id="task"),
        pytest.param(CirrusError("other"), ExitCode.FAILED, id="any-other"),
    ],
)
def test_one_mapping_of_errors_to_exit_codes(error: CirrusError, code: ExitCode) -> None:
    assert exit_code(error) is code


def test_invalid_input_exits_2_from_project_commands_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``cirrus validate``/``init``/``create``/``show`` used to exit 1 where the rest exit 2."""

    def refuse(*args: object) -> None:
        raise PayloadError("$.name", "is not a name")

    monkeypatch.setattr("cirrus.project.init_project", refuse)
    result = CliRunner().invoke(cli, ["init", str(tmp_path / "new")])
    assert result.exit_code == ExitCode.INVALID == 2
    assert result.stderr == "error: $.name is not a name\n"


def test_commands_exit_through_the_one_mapping() -> None:
    """No command spells an exit status or catches cirrus errors on its own."""
    folder = Path(cirrus.cli.__file__).parent
    for module in sorted(folder.glob("*.py")):
        text = module.read_text(encoding="utf-8")
        assert not re.search(r"sys\.exit\(\d", text), f"{module.name}: use ExitCode"
        if module.name != "exits.py":
            assert "except CirrusError" not in text, f"{module.name}: use reporting_errors()"
