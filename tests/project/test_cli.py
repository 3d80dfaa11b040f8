"""The issue's acceptance, through the ``cirrus`` command."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from cirrus.project import Project


def test_init_create_validate_show(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cirrus: Callable[..., Result]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert cirrus("init", "demo").exit_code == 0
    monkeypatch.chdir(tmp_path / "demo")
    created = cirrus(
        "create", "task", "my-task", "does a thing", "--type", "lambda", "--type", "batch"
    )
    assert created.exit_code == 0, created.output
    assert "tasks/my-task/definition.yml" in created.stderr

    validated = cirrus("validate")
    assert validated.exit_code == 0, validated.output
    assert "is valid" in validated.stderr

    listed = cirrus("show", "tasks")
    assert listed.exit_code == 0
    row = next(line for line in listed.stdout.splitlines() if "my-task" in line)
    assert "lambda, batch" in row
    assert "does a thing" in row
    publish = next(line for line in listed.stdout.splitlines() if "publish" in line)
    assert "yes" in publish

    readme = cirrus("show", "task", "my-task", "readme")
    assert readme.exit_code == 0
    assert "Parameters" in readme.stdout
    assert "## Parameters" in readme.stdout  # off a terminal: the Markdown itself


def test_created_task_runs_with_run_task(project: Project, cirrus: Callable[..., Result]) -> None:
    cirrus("create", "task", "my-task", "does a thing", "--type", "lambda", "--type", "batch")
    result = cirrus("run", "task", "my-task", "tasks/my-task/test-payload.json")
    assert result.exit_code == 0, result.output
    output = json.loads(result.stdout)
    assert [item["id"] for item in output["features"]] == ["my-task-example"]


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        pytest.param([], {"lambda"}, id="default-lambda"),
        pytest.param(["--type", "batch"], {"batch"}, id="type-batch"),
        pytest.param(["--has-lambda", "--no-batch"], {"lambda"}, id="has-lambda"),
        pytest.param(["--has-batch", "--no-lambda"], {"batch"}, id="has-batch"),
        pytest.param(["--has-lambda", "--has-batch"], {"lambda", "batch"}, id="both-flags"),
    ],
)
def test_task_type_flags(
    project: Project, cirrus: Callable[..., Result], flags: list[str], expected: set[str]
) -> None:
    result = cirrus("create", "task", "typed", "a task", *flags)
    assert result.exit_code == 0, result.output
    assert project.tasks()["typed"].types == expected
    assert (project.root / "tasks/typed/Dockerfile.batch").exists() == ("batch" in expected)


def test_contradicting_type_flags_are_refused(
    project: Project, cirrus: Callable[..., Result]
) -> None:
    result = cirrus("create", "task", "typed", "a task", "--type", "batch", "--no-batch")
    assert result.exit_code == 2
    assert not (project.root / "tasks/typed").exists()


def test_validate_lists_every_problem_with_file_line_and_field(
    project: Project, cirrus: Callable[..., Result]
) -> None:
    cirrus("create", "task", "big", "a big task")
    cirrus("create", "workflow", "flow", "a flow")
    definition = project.root / "tasks/big/definition.yml"
    text = definition.read_text()
    text = text.replace("timeout: 300 ", "timeout: 3600").replace("  memory:", "  memroy:")
    definition.write_text(text)
    workflow = project.root / "workflows/flow/definition.yml"
    workflow.write_text(workflow.read_text().replace("cirrus:lambda:publish", "cirrus:lambda:nope"))

    result = cirrus("validate")

    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    timeout_line = _line_of(definition, "timeout: 3600")
    assert any(
        line.startswith(f"tasks/big/definition.yml:{timeout_line}: lambda.timeout:")
        and "batch" in line.lower()
        for line in lines
    ), result.stderr
    assert any(
        "tasks/big/definition.yml" in line and "lambda.memroy" in line and "`memory`" in line
        for line in lines
    )
    assert any(
        line.startswith(f"workflows/flow/definition.yml:{_line_of(workflow, 'cirrus:lambda:nope')}")
        and "definition.States.publish.Resource" in line
        and "`nope`" in line
        for line in lines
    ), result.stderr


def _line_of(file: Path, text: str) -> int:
    return next(n for n, line in enumerate(file.read_text().splitlines(), 1) if text in line)


def test_show_definition_prints_the_file(project: Project, cirrus: Callable[..., Result]) -> None:
    cirrus("create", "task", "my-task", "does a thing")
    result = cirrus("show", "task", "my-task", "definition")
    assert result.exit_code == 0
    assert (
        result.stdout.strip() == (project.root / "tasks/my-task/definition.yml").read_text().strip()
    )


def test_show_builtin_workflow_definition(project: Project, cirrus: Callable[..., Result]) -> None:
    result = cirrus("show", "workflow", "publish-only", "definition")
    assert result.exit_code == 0
    assert "cirrus:lambda:publish" in result.stdout


def test_show_unknown_component_names_the_known_ones(
    project: Project, cirrus: Callable[..., Result]
) -> None:
    result = cirrus("show", "task", "nope", "readme")
    assert result.exit_code == 1
    assert "no task named `nope`" in result.stderr
    assert "publish" in result.stderr


def test_project_option_and_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cirrus: Callable[..., Result]
) -> None:
    cirrus("init", str(tmp_path / "elsewhere"))
    monkeypatch.chdir(tmp_path)
    made = cirrus("create", "task", "t1", "one", "--project", str(tmp_path / "elsewhere"))
    assert made.exit_code == 0, made.output
    monkeypatch.setenv("CIRRUS_PROJECT", str(tmp_path / "elsewhere"))
    assert "t1" in cirrus("show", "tasks").stdout


def test_commands_outside_a_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cirrus: Callable[..., Result]
) -> None:
    monkeypatch.chdir(tmp_path)
    refused = cirrus("create", "task", "t1", "one")
    assert refused.exit_code == 1
    assert "cirrus init" in refused.stderr
    listed = cirrus("show", "tasks")  # built-ins are listed anywhere
    assert listed.exit_code == 0
    assert "publish" in listed.stdout


def test_init_twice_is_refused(project: Project, cirrus: Callable[..., Result]) -> None:
    result = cirrus("init", str(project.root))
    assert result.exit_code == 1
    assert "exists already" in result.stderr


def test_create_existing_component_is_refused(
    project: Project, cirrus: Callable[..., Result]
) -> None:
    cirrus("create", "feeder", "feed", "feeds things")
    readme = project.root / "feeders/feed/README.md"
    readme.write_text("mine")
    result = cirrus("create", "feeder", "feed", "feeds other things")
    assert result.exit_code == 1
    assert "exists already" in result.stderr
    assert readme.read_text() == "mine"
