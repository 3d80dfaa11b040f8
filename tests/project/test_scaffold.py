"""init_project and create_component: files from templates, never overwriting."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cirrus.errors import ConfigError
from cirrus.project import Project, create_component, init_project, validate_project


def test_init_writes_a_project_that_validates(tmp_path: Path) -> None:
    root = init_project(tmp_path / "new project")
    for folder in ("tasks", "workflows", "feeders", "functions"):
        assert (root / folder).is_dir()
    assert ".cirrus/" in (root / ".gitignore").read_text()
    project = Project(root)
    assert project.config.name == "new-project"
    assert validate_project(project) == []


def test_init_keeps_an_existing_gitignore(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("*.pyc")
    init_project(tmp_path)
    assert (tmp_path / ".gitignore").read_text().splitlines() == [
        "*.pyc",
        "# cirrus local state, payloads and outputs",
        ".cirrus/",
    ]


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        pytest.param("my_task", "'_'", id="underscore"),
        pytest.param("9task", "start with a letter", id="digit-first"),
        pytest.param("t" * 41, "41 characters", id="too-long"),
        pytest.param("tâche", "'â'", id="non-ascii"),
    ],
)
def test_names_that_cannot_become_aws_names(project: Project, name: str, reason: str) -> None:
    with pytest.raises(ConfigError) as caught:
        create_component(project, "task", name, "a task")
    assert reason in str(caught.value)
    assert "letters, digits and hyphens" in str(caught.value)


def test_task_files(project: Project) -> None:
    task = create_component(project, "task", "make-cog", "Makes a COG", ["batch", "lambda"])
    folder = project.root / "tasks/make-cog"
    names = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}
    assert names == {
        "definition.yml",
        "README.md",
        "src/task/task.py",
        "test-payload.json",
        "requirements.txt",
        "Dockerfile",
        "Dockerfile.lambda",
        "Dockerfile.batch",
    }
    payload = json.loads((folder / "test-payload.json").read_text())
    assert "make-cog" in payload["process"][0]["tasks"]
    assert "## Parameters" in task.readme()
    assert "FROM make-cog-base" in (folder / "Dockerfile.batch").read_text()
    assert "${LAMBDA_TASK_ROOT}" in (folder / "Dockerfile").read_text()
    assert task.load_class().__name__ == "MakeCog"


def test_created_task_processes_its_test_payload(project: Project) -> None:
    task = create_component(project, "task", "my-task", 'says "hi"')
    payload = json.loads((project.root / "tasks/my-task/test-payload.json").read_text())
    task_class = task.load_class()
    assert task_class.description == 'says "hi"'
    output = task_class.handler(payload)
    assert output["features"][0]["id"] == "my-task-example"


@pytest.mark.parametrize("kind", ["workflow", "feeder", "function"])
def test_other_components_validate_as_created(project: Project, kind: str) -> None:
    component = create_component(project, kind, f"my-{kind}", f"a {kind}: with a colon")
    assert component.description == f"a {kind}: with a colon"
    assert validate_project(project) == []


def test_task_types_are_checked(project: Project) -> None:
    with pytest.raises(ConfigError, match="unknown task type gpu"):
        create_component(project, "task", "t", "a task", ["gpu"])
