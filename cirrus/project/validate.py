"""Check a whole project at once: settings, every definition, README and workflow.

    >>> problems = validate_project(project)
    >>> for problem in problems:
    ...     print(problem.format(project.root))
    tasks/big/definition.yml:6: lambda.timeout: is 3,600 s; allowed: 1..900 s ...

Only errors fail validation; warnings (e.g. a state that can only run on AWS) are listed
with them.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from typing import Any

from cirrus.engine import StateMachine, TaskTarget
from cirrus.errors import CirrusError, DefinitionError
from cirrus.project.components import (
    FOLDERS,
    KINDS,
    CodeComponent,
    TaskComponent,
    WorkflowComponent,
)
from cirrus.project.config import config_problems
from cirrus.project.deployments import deployment_problems
from cirrus.project.names import check_name
from cirrus.project.problems import Problem
from cirrus.project.project import Project
from cirrus.project.task_resolver import ProjectTaskResolver, task_catalog
from cirrus.project.yamlfile import KeyPath, LoadedYaml, dotted

__all__ = ["check_workflow", "validate_project"]


def validate_project(project: Project, *, local: bool = True) -> list[Problem]:
    """Every problem in the project, errors and warnings, sorted by file and line.

    Args:
        project: the project.
        local: also warn about settings a local run cannot honour (a build for AWS does
            not need to hear it).
    """
    problems: list[Problem] = []
    if project.config_file.is_file():
        problems += config_problems(project.root)
        problems += deployment_problems(project.root)
    else:
        problems.append(
            Problem(project.config_file, None, "", "is missing: run `cirrus init` here")
        )
    for kind in KINDS:
        for name, component in project.project_components(kind).items():
            reason = check_name(name, kind)
            if reason:
                problems.append(Problem(component.path or project.root, None, "name", reason))
            problems += component.problems()
            if isinstance(component, CodeComponent):
                problems += _code_problems(component)
    if local:
        problems += _not_honoured_locally(project.project_components("task").values())
    tasks = project.tasks()
    for workflow in project.workflows().values():
        problems += check_workflow(workflow, tasks)
    problems += _stray_files(project)
    unique = list(dict.fromkeys(problems))
    return sorted(unique, key=lambda p: (str(p.file), p.line or 0, p.field))


# settings a local run cannot honour, and why; each is reported once per project
_AWS_ONLY_SETTINGS: dict[tuple[str, str], str] = {
    ("lambda", "image"): "locally the task runs from its code in the project, not the image",
    ("batch", "image"): "locally the task runs from its code in the project, not the image",
    ("batch", "gpu"): "locally a batch task gets no GPU reserved",
}


def _not_honoured_locally(components: Iterable[Any]) -> list[Problem]:
    """One warning per setting that a local run cannot honour, at its first use."""
    found: dict[tuple[str, str], tuple[Problem, int]] = {}
    for component in components:
        loaded = component.loaded_definition()
        data = loaded.data if loaded is not None else None
        if loaded is None or not isinstance(data, dict):
            continue
        for (section, key), why in _AWS_ONLY_SETTINGS.items():
            part = data.get(section)
            if not isinstance(part, dict) or key not in part or (key == "gpu" and not part[key]):
                continue
            if (section, key) in found:
                first, count = found[(section, key)]
                found[(section, key)] = (first, count + 1)
                continue
            problem = Problem(
                loaded.file,
                loaded.line((section, key)),
                f"{section}.{key}",
                f"applies on AWS only: {why}",
                severity="warning",
            )
            found[(section, key)] = (problem, 1)
    problems = []
    for problem, count in found.values():
        if count > 1:
            others = count - 1
            message = f"{problem.message} (and in {others} other task{'s' if others > 1 else ''})"
            problem = Problem(
                problem.file, problem.line, problem.field, message, severity="warning"
            )
        problems.append(problem)
    return problems


def _stray_files(project: Project) -> list[Problem]:
    problems = []
    for kind in KINDS:
        folder = project.root / FOLDERS[kind]
        if folder.exists() and not folder.is_dir():
            problems.append(Problem(folder, None, "", f"must be a folder of {kind} folders"))
    return problems


def _needs_code(document: dict[str, Any], kind: str) -> bool:
    """Whether the component runs from code in the project (not only from an image)."""
    names = ("lambda", "batch") if kind == "task" else ("lambda",)
    sections = [document[name] for name in names if isinstance(document.get(name), dict)]
    if not sections:
        return True
    return not all(section.get("image") or "resources" in section for section in sections)


def _code_problems(component: CodeComponent) -> list[Problem]:
    try:
        document = component.document
    except CirrusError:
        return []  # the definition's own problems are reported already
    if not _needs_code(document, component.kind):
        return []
    file = component.code_file
    assert file is not None
    if not file.is_file():
        where = file.relative_to(component.path) if component.path else file
        return [Problem(file, None, "", f"is missing: the {component.kind}'s code goes in {where}")]
    try:
        tree = ast.parse(file.read_text(encoding="utf-8"), filename=str(file))
    except SyntaxError as err:
        return [Problem(file, err.lineno, "", f"is not valid Python: {err.msg}")]
    classes = [node.name for node in tree.body if isinstance(node, ast.ClassDef)]
    functions = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    if isinstance(component, TaskComponent):
        wanted = component.class_name
        if wanted is not None and wanted not in classes:
            loaded = component.loaded_definition()
            line = loaded.line(("class",)) if loaded else None
            assert component.definition_file is not None
            return [
                Problem(
                    component.definition_file,
                    line,
                    "class",
                    f"names `{wanted}`, which {file.name} does not define; "
                    f"classes there: {', '.join(classes) or 'none'}",
                )
            ]
        if not classes:
            return [Problem(file, None, "", "defines no class: define a subclass of Task")]
        return []
    section = document.get("lambda")
    handler = section.get("handler") if isinstance(section, dict) else None
    module, _, function = str(handler or f"{component.kind}.handler").rpartition(".")
    if module == component.kind and function not in functions:
        return [Problem(file, None, "", f"defines no function `{function}` (the handler)")]
    return []


def _problem(
    loaded: LoadedYaml, prefix: KeyPath, path: KeyPath, message: str, **kw: Any
) -> Problem:
    full = (*prefix, *path)
    return Problem(loaded.file, loaded.line(full), dotted(full), message, **kw)


def check_workflow(workflow: WorkflowComponent, tasks: dict[str, TaskComponent]) -> list[Problem]:
    """Problems in a workflow's state machine and in the tasks it names, all in one pass.

    The check is the workflow engine's own compiler, with the resolver the runtime uses
    (minus running anything), so what validates is what runs.

    Args:
        workflow: the workflow to check.
        tasks: every task the workflow may name (project and built-in).
    """
    loaded, prefix = workflow.state_machine_source()
    if loaded is None:
        return []  # reported by the component's own problems
    machine: Any = loaded.data
    for key in prefix:
        machine = machine.get(key) if isinstance(machine, dict) else None
    aws_only: list[tuple[TaskTarget, str]] = []
    resolver = ProjectTaskResolver(task_catalog(tasks), aws_only=aws_only)
    problems: list[Problem] = []
    try:
        StateMachine.from_dict(machine, resolver=resolver)
    except DefinitionError as err:
        problems += [_problem(loaded, prefix, p.path, p.message) for p in err.problems]
    problems += [
        _problem(loaded, prefix, target.path, reason, severity="warning")
        for target, reason in aws_only
    ]
    return problems
