"""The one rule for "which task does this Task state name".

Validation (``cirrus validate``), the local runtime and the AWS build all ask
:func:`match_task`, so they cannot disagree. Every spelling users write is understood:

==============================================  ====================================
spelling                                        names
==============================================  ====================================
``cirrus:lambda:<task>`` / ``cirrus:batch:<task>``  the task, run that way (portable)
``!GetAtt <task>.Arn`` (or ``Fn::GetAtt: [<task>, Arn]``)  the lambda task
``!Ref <task>``, ``!Ref <task>Lambda`` / ``Function``  the lambda task
``!Ref <task>JobDefinition`` / ``BatchJob``     the batch task (in ``JobDefinition``)
``"#{<Task>AsBatchJob}"`` (upstream Cirrus)     the batch task, CamelCase or not
``<task>``, ``<prefix>-<task>``, ``<prefix>_<task>``  the task (deployed names carry a
                                                prefix; the longest known task wins)
a Lambda function ARN, a job definition ARN,    the task its name ends with
``name:revision``, ``!Sub`` of any of these
==============================================  ====================================

``Resource`` and ``FunctionName`` name lambda tasks; ``JobDefinition`` names batch tasks.
A name that is no task of the project is a state only AWS can run: a warning when
validating, an error when running here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cirrus.engine import FUNCTION_ARN, TargetKind, TaskTarget
from cirrus.task.kinds import TaskKind

__all__ = ["TaskMatch", "match_task"]

_PORTABLE = re.compile(r"cirrus:(?P<type>[^:]*):(?P<task>.*)")
_JOB_DEFINITION_ARN = re.compile(
    r"arn:aws[a-z-]*:batch:[^:]*:[^:]*:job-definition/(?P<name>[^:]+)(?::\d+)?"
)
_SUB_VARIABLE = re.compile(r"\$\{[^}]*\}")
_PSEUDO_PARAMETER = re.compile(r"#\{(?P<name>[^}]+)\}")
_REF_SUFFIXES = {
    TaskKind.LAMBDA: ("LambdaFunction", "Lambda", "Function"),
    TaskKind.BATCH: ("AsBatchJob", "JobDefinition", "BatchJob", "Job"),
}


@dataclass(frozen=True, slots=True)
class TaskMatch:
    """The answer for one Task state.

    Attributes:
        task: the task's name, or None when the state names no task of the project.
        type: how the state runs it: ``lambda`` or ``batch``.
        problem: why the state cannot run here ("" when it can).
        aws_only: the state names something that is not a task of the project (another
            AWS resource): only AWS can run it.
    """

    task: str | None
    type: TaskKind
    problem: str = ""
    aws_only: bool = False


def match_task(target: TaskTarget, tasks: Mapping[str, frozenset[str]]) -> TaskMatch:
    """Which task ``target`` names.

    Args:
        target: what the Task state names (from :func:`cirrus.engine.task_target`).
        tasks: every task that exists (project and built-in), with the ways it can run.
    """
    kind = TaskKind.BATCH if target.kind is TargetKind.JOB_DEFINITION else TaskKind.LAMBDA
    value = target.value
    explicit = False  # the spelling names a task outright: no match is a mistake, not AWS
    if isinstance(value, str) and (portable := _PORTABLE.fullmatch(value)):
        if portable["type"] not in tuple(TaskKind) or not portable["task"]:
            return TaskMatch(
                None, kind, f"{value!r} must be cirrus:lambda:<task> or cirrus:batch:<task>"
            )
        return _checked(portable["task"], TaskKind(portable["type"]), tasks, explicit=True)
    name = _getatt(value)
    if name is not None:
        return _checked(name, TaskKind.LAMBDA, tasks, explicit=True)
    ref = _ref(value)
    if ref is not None:
        stem = _resource_stem(ref, kind, tasks)
        if stem is not None:
            return _checked(stem, kind, tasks, explicit=True)
        name = ref
    else:
        name = _text(value)
    if name is None:
        return TaskMatch(None, kind, f"{target.kind} must be a string", aws_only=True)
    name = _strip_arn(name, kind)
    if name in tasks:
        return _checked(name, kind, tasks, explicit=explicit)
    for candidate in [] if name.startswith("arn:") else _suffixes(name):
        if candidate in tasks and kind in tasks[candidate]:
            return _checked(candidate, kind, tasks, explicit=explicit)
    return TaskMatch(
        None,
        kind,
        f"{_shown(value)} is not a task of this project; it can only run on AWS "
        f"(name a task as cirrus:{kind}:<task>, or end the name with -<task>)",
        aws_only=True,
    )


def _checked(
    task: str, kind: TaskKind, tasks: Mapping[str, frozenset[str]], *, explicit: bool
) -> TaskMatch:
    types = tasks.get(task)
    if types is None:
        known = ", ".join(sorted(tasks)) or "none"
        return TaskMatch(
            None,
            kind,
            f"names task `{task}`, which is neither in tasks/ nor built in; known tasks: {known}",
            aws_only=not explicit,
        )
    if kind not in types:
        have = " and ".join(sorted(types)) or "nothing"
        return TaskMatch(
            task,
            kind,
            f"runs task `{task}` on {kind}, but it is defined for {have} only: add a `{kind}` "
            f"section to its definition.yml or use cirrus:{sorted(types)[0]}:{task}",
        )
    return TaskMatch(task, kind)


def _getatt(value: Any) -> str | None:
    """``<task>`` of ``Fn::GetAtt: [<task>, Arn]`` (or ``"<task>.Arn"``)."""
    if isinstance(value, str) and value.startswith("!GetAtt "):
        value = {"Fn::GetAtt": value.removeprefix("!GetAtt ").strip()}
    if not (isinstance(value, dict) and set(value) == {"Fn::GetAtt"}):
        return None
    target = value["Fn::GetAtt"]
    if isinstance(target, str):
        target = target.split(".", 1)
    if isinstance(target, list) and target and isinstance(target[0], str):
        return target[0]
    return None


def _resource_stem(ref: str, kind: TaskKind, tasks: Mapping[str, frozenset[str]]) -> str | None:
    """The task a CloudFormation resource name stands for: ``make-cogJobDefinition`` and
    upstream Cirrus's ``MakeCogAsBatchJob`` both name ``make-cog`` (case, ``-`` and ``_``
    are not compared, since CloudFormation names cannot hold ``-``)."""
    by_key = {_key(task): task for task in tasks}
    for suffix in _REF_SUFFIXES[kind]:
        stem = ref.removesuffix(suffix)
        if stem != ref and stem:
            if stem in tasks:
                return stem
            if _key(stem) in by_key:
                return by_key[_key(stem)]
    return None


def _key(name: str) -> str:
    return name.replace("-", "").replace("_", "").lower()


def _ref(value: Any) -> str | None:
    """The resource name of ``!Ref X``, ``{"Ref": X}`` or serverless's ``"#{X}"``."""
    if isinstance(value, str) and (pseudo := _PSEUDO_PARAMETER.fullmatch(value.strip())):
        return pseudo["name"].strip()
    if isinstance(value, str) and value.startswith("!Ref "):
        return value.removeprefix("!Ref ").strip()
    if isinstance(value, dict) and set(value) == {"Ref"} and isinstance(value["Ref"], str):
        return str(value["Ref"])
    return None


def _text(value: Any) -> str | None:
    """The text of a plain string, or of an ``Fn::Sub`` template with its variables blanked.

    ``arn:...:${AWS::Region}:...:function:${AWS::StackName}-make-cog`` reads as
    ``arn:...:x:...:function:x-make-cog``: the variables are a deployment's, the task
    name is what is left.
    """
    if isinstance(value, dict) and set(value) == {"Fn::Sub"}:
        value = value["Fn::Sub"]
        if isinstance(value, list) and value:
            value = value[0]
        if isinstance(value, str):
            value = _SUB_VARIABLE.sub("x", value)
    return value if isinstance(value, str) else None


def _strip_arn(name: str, kind: TaskKind) -> str:
    if kind is TaskKind.LAMBDA:
        match = FUNCTION_ARN.fullmatch(name)
        return match["name"] if match else name
    match = _JOB_DEFINITION_ARN.fullmatch(name)
    if match:
        return match["name"]
    if ":" in name and not name.startswith("arn:"):
        return name.split(":", 1)[0]  # name:revision
    return name


def _suffixes(name: str) -> list[str]:
    """Task names a deployed name may end with, longest first: ``a-b_c`` → ``b_c``, ``c``."""
    return [name[i + 1 :] for i, char in enumerate(name) if char in "-_" and i + 1 < len(name)]


def _shown(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)
