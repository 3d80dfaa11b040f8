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
import re
from typing import Any

from cirrus.errors import CirrusError
from cirrus.project.asl import check_state_machine, iter_task_states, task_reference
from cirrus.project.components import (
    FOLDERS,
    KINDS,
    CodeComponent,
    TaskComponent,
    WorkflowComponent,
)
from cirrus.project.config import config_problems
from cirrus.project.names import check_name
from cirrus.project.problems import Problem
from cirrus.project.project import Project
from cirrus.project.yamlfile import KeyPath, LoadedYaml, dotted

__all__ = ["check_workflow", "validate_project"]


def validate_project(project: Project) -> list[Problem]:
    """Every problem in the project, errors and warnings, sorted by file and line."""
    problems: list[Problem] = []
    if project.config_file.is_file():
        problems += config_problems(project.root)
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
    tasks = project.tasks()
    for workflow in project.workflows().values():
        problems += check_workflow(workflow, tasks)
    problems += _stray_files(project)
    unique = list(dict.fromkeys(problems))
    return sorted(unique, key=lambda p: (str(p.file), p.line or 0, p.field))


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
    """Problems in a workflow's state machine and in the tasks it names.

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
    problems = [
        _problem(loaded, prefix, path, message) for path, message in check_state_machine(machine)
    ]
    for state_path, state in iter_task_states(machine):
        ref = task_reference(state, state_path, tasks)
        if ref is None:
            continue
        if ref.task is None:
            problems.append(_problem(loaded, prefix, ref.path, ref.reason, severity="warning"))
            continue
        task = tasks.get(ref.task)
        if task is None:
            known = ", ".join(tasks) or "none"
            problems.append(
                _problem(
                    loaded,
                    prefix,
                    ref.path,
                    f"names task `{ref.task}`, which is neither in tasks/ nor built in; "
                    f"known tasks: {known}",
                )
            )
        elif task.types and ref.type not in task.types:
            have = " and ".join(sorted(task.types))
            problems.append(
                _problem(
                    loaded,
                    prefix,
                    ref.path,
                    f"runs task `{ref.task}` on {ref.type}, but it is defined for {have} only: "
                    f"add a `{ref.type}` section to its definition.yml or use "
                    f"cirrus:{sorted(task.types)[0]}:{ref.task}",
                )
            )
    if not any(problem.is_error for problem in problems):
        problems += _engine_problems(machine, loaded, prefix, tasks)
    return problems


class _ValidationRunner:
    """A task runner that knows which tasks exist but never runs them."""

    def __init__(self, tasks: dict[str, TaskComponent]) -> None:
        self.tasks = tasks

    def has_task(self, name: str) -> bool:
        return name in self.tasks

    def task_types(self, name: str) -> set[str]:
        task = self.tasks.get(name)
        return set(task.types) if task is not None else set()

    def run_lambda(self, name: str, event: Any, *, timeout: float | None) -> Any:
        raise NotImplementedError  # validation never runs a task

    def run_batch(self, name: str, payload: Any, *, timeout: float | None) -> Any:
        raise NotImplementedError  # validation never runs a task


_ENGINE_LINE = re.compile(r"\s*- State '(?P<state>[^']*)': (?P<message>.*)")


def _state_paths(machine: Any, path: KeyPath = ()) -> dict[str, KeyPath]:
    """Key path of every state by name, nested branches included (first one wins)."""
    found: dict[str, KeyPath] = {}
    states = machine.get("States") if isinstance(machine, dict) else None
    if not isinstance(states, dict):
        return found
    for name, state in states.items():
        state_path = (*path, "States", name)
        found.setdefault(str(name), state_path)
        if not isinstance(state, dict):
            continue
        for index, branch in enumerate(state.get("Branches") or []):
            for key, value in _state_paths(branch, (*state_path, "Branches", index)).items():
                found.setdefault(key, value)
        for key in ("Iterator", "ItemProcessor"):
            for inner, value in _state_paths(state.get(key), (*state_path, key)).items():
                found.setdefault(inner, value)
    return found


def _engine_problems(
    machine: Any, loaded: LoadedYaml, prefix: KeyPath, tasks: dict[str, TaskComponent]
) -> list[Problem]:
    """The workflow engine's own static validation (paths, intrinsics, rules, ...)."""
    try:
        from cirrus.engine import ResourceRegistry, StateMachine, TaskHandler
    except ImportError:
        return []
    registry = ResourceRegistry(_ValidationRunner(tasks))
    # Resources only AWS can run were reported as warnings already; accept them here.
    placeholder = TaskHandler(
        invoke=lambda payload, timeout: payload, resource_type="", resource=""
    )
    registry.register(lambda resource: True, lambda request: placeholder, first=False)
    try:
        StateMachine.from_dict(machine, registry=registry)
    except CirrusError as err:
        states = _state_paths(machine)
        problems = []
        for text in str(err).splitlines():
            if not text.strip().startswith("-"):
                continue
            match = _ENGINE_LINE.match(text)
            path = states.get(match["state"], ()) if match else ()
            message = match["message"] if match else text.strip()[1:].strip()
            problems.append(_problem(loaded, prefix, path, message))
        return problems or [_problem(loaded, prefix, (), str(err))]
    return []
