"""Components: built-ins, overrides, loading task classes, reading definitions."""

from __future__ import annotations

from pathlib import Path

import pytest

from cirrus.engine import load_document
from cirrus.errors import ConfigError
from cirrus.project import BuiltinTask, Project, TaskComponent, create_component
from cirrus.project.yamlfile import load_yaml_text
from tests.project.conftest import write


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
    with pytest.raises(ConfigError, match="known: copy-assets, publish"):
        project.component("tasks", "nope")
    with pytest.raises(ConfigError, match="not a component kind"):
        project.component("pipeline", "x")


TASK_BASE = "from cirrus.task import Task\n"
ONE = "class One(Task):\n    def process(self, **kw):\n        return self.items_as_dicts\n"
TWO = ONE.replace("One", "Two")


@pytest.mark.parametrize(
    ("code", "class_field", "expected"),
    [
        pytest.param(TASK_BASE + ONE, None, "One", id="one"),
        pytest.param(TASK_BASE + ONE + TWO, "Two", "Two", id="class-field"),
        pytest.param(
            TASK_BASE + "class Base(Task):\n    pass\n" + ONE.replace("(Task)", "(Base)"),
            None,
            "One",
            id="shared-base",
        ),
        pytest.param("from stactask import Task\n" + ONE, None, "One", id="stactask"),
    ],
)
def test_load_class(project: Project, code: str, class_field: str | None, expected: str) -> None:
    task = _task_with_code(project, code, class_field)
    assert task.load_class().__name__ == expected


@pytest.mark.parametrize(
    ("code", "class_field", "message"),
    [
        pytest.param(TASK_BASE + ONE + TWO, None, "several Task classes (One, Two)", id="two"),
        pytest.param(TASK_BASE, None, "defines no concrete subclass", id="none"),
        pytest.param(TASK_BASE + ONE, "Three", "no Task subclass named `Three`", id="missing"),
        pytest.param("import not_a_module_anywhere\n", None, "failed to import", id="import"),
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
    task = _task_with_code(
        project, TASK_BASE + "from helpers import VALUE\nfrom . import helpers as h\n" + ONE, None
    )
    write(task.path / "src/task/helpers.py" if task.path else Path(), "VALUE = 1\n")
    assert task.load_class().__name__ == "One"


def _task_with_code(project: Project, code: str, class_field: str | None) -> TaskComponent:
    component = create_component(project, "task", "coded", "has code")
    assert isinstance(component, TaskComponent) and component.path is not None
    write(component.path / "src/task/task.py", code)
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
