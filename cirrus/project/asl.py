"""Static checks of Amazon States Language state machines, and the tasks they name.

This is a structural check (states exist, transitions land, required fields are there)
that needs no engine; :mod:`cirrus.project.validate` adds the engine's own validation when
it is available. A Task state names a project task in one of these ways::

    Resource: cirrus:lambda:make-cog          # portable, preferred
    Resource: cirrus:batch:make-cog
    Resource: !GetAtt make-cog.Arn            # upstream Cirrus style (a Lambda); loads
                                              # as the text "!GetAtt make-cog.Arn"
    Resource: arn:aws:states:::lambda:invoke  # with Parameters.FunctionName naming the task
    Resource: arn:aws:states:::batch:submitJob.sync
    Parameters: {JobDefinition: make-cog, ...}
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Any

from cirrus.project.yamlfile import KeyPath

__all__ = ["TaskRef", "check_state_machine", "iter_task_states", "task_reference"]

STATE_TYPES = ("Task", "Pass", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map")
_TOP_KEYS = ("Comment", "StartAt", "States", "TimeoutSeconds", "Version", "QueryLanguage")
_MAX_STATE_NAME = 80
_CIRRUS_RESOURCE = re.compile(r"cirrus:(lambda|batch):(.+)")
_JOB_DEFINITION_ARN = re.compile(r"arn:[^:]+:batch:[^:]*:[^:]*:job-definition/([^:]+)(:\d+)?")
_FUNCTION_ARN = re.compile(r"arn:[^:]+:lambda:[^:]*:[^:]*:function:([^:]+)(:.+)?")


@dataclass(frozen=True)
class TaskRef:
    """Which task a Task state runs.

    Attributes:
        path: key path of the field that names the task, inside the state machine.
        task: the task name, or ``None`` when the state names no project task.
        type: ``lambda`` or ``batch``.
        reason: for ``task is None``, why no project task could be found.
    """

    path: KeyPath
    task: str | None
    type: str
    reason: str = ""


def _getatt_target(value: Any) -> str | None:
    if isinstance(value, str) and value.startswith("!GetAtt "):
        return value[len("!GetAtt ") :].strip().split(".", 1)[0]
    if isinstance(value, dict) and set(value) == {"Fn::GetAtt"}:
        target = value["Fn::GetAtt"]
        if isinstance(target, list) and target and isinstance(target[0], str):
            return str(target[0])
    return None


def _named(value: Any, kind: str, known: Collection[str]) -> str | None:
    """The task named by a FunctionName / JobDefinition / Resource value."""
    target = _getatt_target(value)
    if target is not None:
        return target
    ref: str | None = None
    if isinstance(value, dict) and isinstance(value.get("Ref"), str):
        ref = str(value["Ref"])
    elif isinstance(value, str) and value.startswith("!Ref "):
        ref = value[len("!Ref ") :].strip()
    if ref is not None:
        for suffix in ("BatchJob", "JobDefinition", "Lambda", "Function"):
            if ref.endswith(suffix) and ref[: -len(suffix)] in known:
                return ref[: -len(suffix)]
        return ref if ref in known else None
    if not isinstance(value, str):
        return None
    match = _CIRRUS_RESOURCE.fullmatch(value)
    if match:
        return match.group(2)
    pattern = _JOB_DEFINITION_ARN if kind == "batch" else _FUNCTION_ARN
    match = pattern.fullmatch(value)
    name = match.group(1) if match else value
    if name in known:
        return name
    # Deployed names carry the project prefix: <project>-<task>.
    candidates = [task for task in known if name.endswith(f"-{task}")]
    return max(candidates, key=len) if candidates else None


def task_reference(
    state: dict[str, Any], path: KeyPath = (), known: Collection[str] = ()
) -> TaskRef | None:
    """The task a Task state runs, or ``None`` when ``state`` is not a Task state.

    Args:
        state: the state's mapping.
        path: key path of the state, used to build :attr:`TaskRef.path`.
        known: names of the tasks that exist, to resolve deployed names and ``!Ref``.
    """
    if state.get("Type") != "Task":
        return None
    resource = state.get("Resource")
    parameters = state.get("Parameters")
    parameters = parameters if isinstance(parameters, dict) else {}
    if isinstance(resource, str):
        match = _CIRRUS_RESOURCE.fullmatch(resource)
        if match:
            return TaskRef((*path, "Resource"), match.group(2), match.group(1))
        if resource.startswith("arn:aws:states:::batch:submitJob"):
            field_path = (*path, "Parameters", "JobDefinition")
            task = _named(parameters.get("JobDefinition"), "batch", known)
            reason = "" if task else "Parameters.JobDefinition does not name a task of this project"
            return TaskRef(field_path, task, "batch", reason)
        if resource.startswith("arn:aws:states:::lambda:invoke"):
            field_path = (*path, "Parameters", "FunctionName")
            task = _named(parameters.get("FunctionName"), "lambda", known)
            reason = "" if task else "Parameters.FunctionName does not name a task of this project"
            return TaskRef(field_path, task, "lambda", reason)
        task = _named(resource, "lambda", known)
        if task is not None:
            return TaskRef((*path, "Resource"), task, "lambda")
        return TaskRef(
            (*path, "Resource"),
            None,
            "lambda",
            f"{resource!r} is not a task of this project; it can only run on AWS",
        )
    target = _getatt_target(resource)
    if target is not None:
        return TaskRef((*path, "Resource"), target, "lambda")
    return TaskRef((*path, "Resource"), None, "lambda", "Resource does not name a task")


def iter_task_states(machine: Any, path: KeyPath = ()) -> Iterator[tuple[KeyPath, dict[str, Any]]]:
    """Every Task state in a state machine, nested Parallel branches and Maps included."""
    if not isinstance(machine, dict) or not isinstance(machine.get("States"), dict):
        return
    for name, state in machine["States"].items():
        state_path = (*path, "States", name)
        if not isinstance(state, dict):
            continue
        if state.get("Type") == "Task":
            yield state_path, state
        branches = state.get("Branches")
        if isinstance(branches, list):
            for index, branch in enumerate(branches):
                yield from iter_task_states(branch, (*state_path, "Branches", index))
        for key in ("Iterator", "ItemProcessor"):
            yield from iter_task_states(state.get(key), (*state_path, key))


def check_state_machine(machine: Any, path: KeyPath = ()) -> list[tuple[KeyPath, str]]:
    """Structural problems of a state machine as ``(key path, message)`` pairs."""
    problems: list[tuple[KeyPath, str]] = []
    _check_machine(machine, path, problems)
    return problems


def _check_machine(machine: Any, path: KeyPath, out: list[tuple[KeyPath, str]]) -> None:
    if not isinstance(machine, dict):
        out.append((path, "must be a state machine mapping with StartAt and States"))
        return
    for key in machine:
        if key not in _TOP_KEYS:
            out.append(
                ((*path, key), f"is not a state machine field; allowed: {', '.join(_TOP_KEYS)}")
            )
    states = machine.get("States")
    if not isinstance(states, dict) or not states:
        out.append(((*path, "States"), "is missing or empty: add at least one state"))
        return
    start = machine.get("StartAt")
    if not isinstance(start, str):
        out.append(((*path, "StartAt"), "is missing: name the first state"))
    elif start not in states:
        out.append(
            ((*path, "StartAt"), f"names `{start}`, which is not a state; states: {_names(states)}")
        )
    for name, state in states.items():
        _check_state(str(name), state, states, (*path, "States", name), out)
    if isinstance(start, str) and start in states:
        unreachable = set(states) - _reachable(start, states)
        for name in sorted(unreachable, key=str):
            out.append(((*path, "States", name), "is never reached: no state moves to it"))


def _names(states: dict[str, Any]) -> str:
    return ", ".join(str(name) for name in states)


def _check_target(
    target: Any, states: dict[str, Any], path: KeyPath, out: list[tuple[KeyPath, str]]
) -> None:
    if not isinstance(target, str):
        out.append((path, "must name a state"))
    elif target not in states:
        out.append((path, f"names `{target}`, which is not a state here; states: {_names(states)}"))


def _check_state(
    name: str, state: Any, states: dict[str, Any], path: KeyPath, out: list[tuple[KeyPath, str]]
) -> None:
    if len(name) > _MAX_STATE_NAME:
        out.append((path, f"state names are at most {_MAX_STATE_NAME} characters"))
    if not isinstance(state, dict):
        out.append((path, "must be a mapping with a Type"))
        return
    kind = state.get("Type")
    if kind not in STATE_TYPES:
        out.append(((*path, "Type"), f"is {kind!r}: allowed: {', '.join(STATE_TYPES)}"))
        return
    if kind in ("Choice", "Succeed", "Fail"):
        for key in ("Next", "End"):
            if key in state:
                out.append(((*path, key), f"a {kind} state takes no `{key}`"))
    else:
        has_next, ends = "Next" in state, state.get("End") is True
        if has_next and ends:
            out.append(((*path, "End"), "give either `Next` or `End: true`, not both"))
        elif not has_next and not ends:
            out.append((path, f"a {kind} state needs `Next: <state>` or `End: true`"))
        if has_next:
            _check_target(state["Next"], states, (*path, "Next"), out)
    if kind == "Task" and "Resource" not in state:
        out.append((path, "a Task state needs `Resource`, e.g. cirrus:lambda:<task>"))
    if kind == "Choice":
        choices = state.get("Choices")
        if not isinstance(choices, list) or not choices:
            out.append(((*path, "Choices"), "a Choice state needs a non-empty `Choices` list"))
        else:
            for index, rule in enumerate(choices):
                rule_path = (*path, "Choices", index)
                if not isinstance(rule, dict) or "Next" not in rule:
                    out.append((rule_path, "each choice rule needs `Next`"))
                else:
                    _check_target(rule["Next"], states, (*rule_path, "Next"), out)
        if "Default" in state:
            _check_target(state["Default"], states, (*path, "Default"), out)
    for key in ("Retry", "Catch"):
        if key in state and kind in ("Task", "Parallel", "Map"):
            _check_handlers(key, state[key], states, (*path, key), out)
        elif key in state:
            out.append(((*path, key), f"a {kind} state takes no `{key}`"))
    if kind == "Parallel":
        branches = state.get("Branches")
        if not isinstance(branches, list) or not branches:
            out.append(((*path, "Branches"), "a Parallel state needs a non-empty `Branches` list"))
        else:
            for index, branch in enumerate(branches):
                _check_machine(branch, (*path, "Branches", index), out)
    if kind == "Map":
        key = "ItemProcessor" if "ItemProcessor" in state else "Iterator"
        if key not in state:
            out.append((path, "a Map state needs `ItemProcessor` (or the older `Iterator`)"))
        else:
            processor = state[key]
            inner = (
                {k: v for k, v in processor.items() if k != "ProcessorConfig"}
                if isinstance(processor, dict)
                else processor
            )
            _check_machine(inner, (*path, key), out)


def _check_handlers(
    key: str, handlers: Any, states: dict[str, Any], path: KeyPath, out: list[tuple[KeyPath, str]]
) -> None:
    if not isinstance(handlers, list):
        out.append((path, f"`{key}` must be a list"))
        return
    for index, handler in enumerate(handlers):
        item = (*path, index)
        if not isinstance(handler, dict):
            out.append((item, "must be a mapping with ErrorEquals"))
            continue
        errors = handler.get("ErrorEquals")
        if (
            not isinstance(errors, list)
            or not errors
            or not all(isinstance(e, str) for e in errors)
        ):
            out.append(((*item, "ErrorEquals"), "must be a non-empty list of error names"))
        if key == "Catch":
            if "Next" not in handler:
                out.append((item, "a catcher needs `Next`"))
            else:
                _check_target(handler["Next"], states, (*item, "Next"), out)


def _reachable(start: str, states: dict[str, Any]) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        name = todo.pop()
        if name in seen or name not in states:
            continue
        seen.add(name)
        state = states[name]
        if not isinstance(state, dict):
            continue
        targets: list[Any] = [state.get("Next"), state.get("Default")]
        for key in ("Choices", "Catch"):
            rules = state.get(key)
            if isinstance(rules, list):
                targets += [rule.get("Next") for rule in rules if isinstance(rule, dict)]
        todo += [target for target in targets if isinstance(target, str)]
    return seen
