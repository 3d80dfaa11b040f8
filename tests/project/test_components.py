"""Components: built-ins, overrides, loading task classes, reading definitions."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cirrus.engine import load_document
from cirrus.errors import ConfigError
from cirrus.project import BuiltinTask, Project, TaskComponent, create_component
from cirrus.project.yamlfile import load_yaml_text


def test_builtins_are_listed(project: Project) -> None:
    tasks = project.tasks()
    assert {"publish", "copy-assets"} <= set(tasks)
    publish = tasks["publish"]
    assert isinstance(publish, BuiltinTask)
    assert publish.builtin and publish.types == {"lambda"} and publish.path is None
    assert publish.description == publish.load_class().description
    assert publish.readme().startswith("# publish\n")
    workflow = project.workflows()["publish-only"]
    assert workflow.builtin
    assert workflow.definition["States"]["publish"]["Resource"] == "cirrus:lambda:publish"


def test_project_component_overrides_builtin(project: Project) -> None:
    create_component(project, "task", "publish", "my own publish")
    publish = project.tasks()["publish"]
    assert not publish.builtin and publish.overrides_builtin
    assert publish.description == "my own publish"
    assert publish.load_class().__name__ == "Publish"
    assert publish.load_class().__module__.startswith("_cirrus_project_code_")


def test_component_lookup_names_known_ones(project: Project) -> None:
    with pytest.raises(ConfigError, match="known: copy-assets, post-batch, pre-batch, publish"):
        project.component("tasks", "nope")
    with pytest.raises(ConfigError, match="not a component kind"):
        project.component("pipeline", "x")


LOADING = Path(__file__).parent.parent / "fixtures" / "tasks" / "loading"
"""Task code for the class-loading tests, one file per case."""


@pytest.mark.parametrize(
    ("code", "class_field", "expected"),
    [
        pytest.param("one_task.py", None, "One", id="one"),
        pytest.param("two_tasks.py", "Two", "Two", id="class-field"),
        pytest.param("shared_base.py", None, "One", id="shared-base"),
        pytest.param("stactask_task.py", None, "One", id="stactask"),
    ],
)
def test_load_class(project: Project, code: str, class_field: str | None, expected: str) -> None:
    task = _task_with_code(project, code, class_field)
    assert task.load_class().__name__ == expected


@pytest.mark.parametrize(
    ("code", "class_field", "message"),
    [
        pytest.param("two_tasks.py", None, "several Task classes (One, Two)", id="two"),
        pytest.param("no_task.py", None, "defines no concrete subclass", id="none"),
        pytest.param("one_task.py", "Three", "no Task subclass named `Three`", id="missing"),
        pytest.param("bad_import.py", None, "failed to import", id="import"),
    ],
)
def test_load_class_errors(
    project: Project, code: str, class_field: str | None, message: str
) -> None:
    task = _task_with_code(project, code, class_field)
    with pytest.raises(ConfigError) as caught:
        task.load_class()
    assert message in str(caught.value)


def test_task_code_may_import_its_siblings(project: Project) -> None:
    task = _task_with_code(project, "imports_siblings.py", None)
    assert task.path is not None
    shutil.copyfile(LOADING / "helpers.py", task.path / "src/task/helpers.py")
    assert task.load_class().__name__ == "One"


def _task_with_code(project: Project, code: str, class_field: str | None) -> TaskComponent:
    """A new task ``coded`` whose ``task.py`` is the fixture file ``code``."""
    component = create_component(project, "task", "coded", "has code")
    assert isinstance(component, TaskComponent) and component.path is not None
    shutil.copyfile(LOADING / code, component.path / "src/task/task.py")
    if class_field:
        definition = component.path / "definition.yml"
        definition.write_text(definition.read_text() + f"class: {class_field}\n")
    return project.tasks()["coded"]


def test_yaml_tags() -> None:
    text = "a: !GetAtt t.Arn\nb: !Ref X\nc: !Sub '${X}-y'\n"
    assert load_yaml_text(text, Path("x.yml")).data == {
        "a": {"Fn::GetAtt": ["t", "Arn"]},
        "b": {"Ref": "X"},
        "c": {"Fn::Sub": "${X}-y"},
    }
    # the workflow engine reads definitions with the same loader: one answer for both
    assert load_document(text) == load_yaml_text(text, Path("x.yml")).data
    sub = "s: !Sub ['arn-${x}', {x: 1}]\n"
    assert load_document(sub) == {"s": {"Fn::Sub": ["arn-${x}", {"x": 1}]}}
