"""Workflow rendering: a project's state machine as Step Functions runs it in the stack.

Every Task state goes through the one resource rule
(:func:`cirrus.project.task_targets.match_task`), so what validates and runs locally is
what is deployed:

==========================================  ==============================================
the state names                             rendered as
==========================================  ==============================================
a task's Lambda variant (any spelling)      ``${<Task>Function.Arn}``, in ``Resource`` or
                                            ``Parameters.FunctionName``
``cirrus:batch:<task>``                     upstream's batch group: a Parallel state
                                            [pre-batch → ``batch:submitJob.sync`` →
                                            post-batch] with ``OutputPath: $[0]``
``batch:submitJob.sync`` of a task          ``JobDefinition: ${<Task>JobDefinition}`` and
                                            the task's job queue
``!Ref``/``!GetAtt``/``!Sub`` of another    ``${Name}``/``${Name.Attr}``/the text
resource of the stack
anything else (another account's            kept as written
function, an SNS integration)
==========================================  ==============================================

The result is the text of an ``Fn::Sub`` (CloudFormation replaces the ``${...}``; every
``${`` of the definition itself is escaped as ``${!``). Before it is used, the rendered
definition is compiled by cirrus's own ASL validator, because cfn-lint cannot look inside
an ``Fn::Sub``. A state that cannot be rendered is a :class:`~cirrus.project.Problem`
naming the file, line and state.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from copy import deepcopy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cirrus.engine import (
    FUNCTION_ARN,
    ResourceError,
    StateMachine,
    TargetKind,
    TaskHandler,
    TaskTarget,
    task_target,
)
from cirrus.errors import DefinitionError
from cirrus.project import Problem, WorkflowComponent
from cirrus.project.task_targets import match_task
from cirrus.project.yamlfile import KeyPath, LoadedYaml, dotted
from cirrus.task.kinds import TaskKind

__all__ = [
    "BATCH_RETRY",
    "LAMBDA_RETRY",
    "BatchTarget",
    "RenderContext",
    "RenderedWorkflow",
    "WorkflowReferences",
    "render_workflow",
    "workflow_references",
]

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
SUBMIT_JOB = "arn:aws:states:::batch:submitJob"
SUBMIT_JOB_SYNC = "arn:aws:states:::batch:submitJob.sync"
JSONATA = "JSONata"

LAMBDA_RETRY: dict[str, Any] = {
    "ErrorEquals": ["Lambda.TooManyRequestsException"],
    "IntervalSeconds": 5,
    "MaxAttempts": 10,
    "BackoffRate": 2,
    "MaxDelaySeconds": 300,
    "JitterStrategy": "FULL",
}
"""Retry of the pre-batch and post-batch functions when Lambda throttles them."""
BATCH_RETRY: dict[str, Any] = {
    "ErrorEquals": ["Batch.AWSBatchException"],
    "IntervalSeconds": 60,
    "MaxAttempts": 10,
    "BackoffRate": 2,
    "MaxDelaySeconds": 900,
    "JitterStrategy": "FULL",
}
"""Retry of ``submitJob`` when Batch refuses it (too many requests at once)."""

# Fields of a `cirrus:batch:<task>` state and where they go in the batch group.
_TO_GROUP = ("Comment", "InputPath", "Parameters", "Retry", "Catch", "Next", "End")
_TO_JOB = ("TimeoutSeconds",)
_NOT_IN_GROUP = {
    "ResultSelector": "the batch group's result is post-batch's output",
    "ResultPath": "the batch group's output is the task's output payload (OutputPath $[0])",
    "OutputPath": "the batch group sets OutputPath: $[0] (post-batch's output)",
    "HeartbeatSeconds": "Batch jobs send no heartbeats",
    "HeartbeatSecondsPath": "Batch jobs send no heartbeats",
    "TimeoutSecondsPath": "give a fixed TimeoutSeconds",
    "Credentials": "the workflow's role submits the job",
    "Assign": "assign variables in the state before or after",
}
_INTRINSICS = ("Ref", "Fn::GetAtt", "Fn::Sub")
_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_PLACEHOLDER = re.compile(r"\$\{(?P<name>[A-Za-z0-9]+)(?:\.(?P<attribute>[A-Za-z0-9.]+))?\}")


@dataclass(frozen=True)
class BatchTarget:
    """Where a batch task's jobs go.

    Attributes:
        job_definition: logical id of its job definition.
        job_queue: logical id of its job queue, or ``None`` for ``queue_name``.
        queue_name: an existing queue (name or ARN) from ``batch.job_queue``.
        job_name: ``JobName`` of the submitted jobs.
    """

    job_definition: str
    job_queue: str | None
    queue_name: str | None = None
    job_name: str = "cirrus-task"

    @property
    def queue_value(self) -> str:
        """``JobQueue`` as the rendered definition holds it."""
        return f"${{{self.job_queue}}}" if self.job_queue else str(self.queue_name)


@dataclass(frozen=True)
class RenderContext:
    """What a workflow may name in the stack being built.

    Attributes:
        catalog: every task with the ways it can run (see
            :func:`cirrus.project.task_resolver.task_catalog`).
        functions: logical id of each task's Lambda function, by task name.
        jobs: each batch task's job definition and queue, by task name.
        pre_batch: logical id of the pre-batch function.
        post_batch: logical id of the post-batch function.
        resources: the stack's resources (logical id → type) and parameters, which
            ``!Ref``/``!GetAtt``/``!Sub`` in a definition may name.
    """

    catalog: Mapping[str, frozenset[str]]
    functions: Mapping[str, str]
    jobs: Mapping[str, BatchTarget]
    pre_batch: str
    post_batch: str
    resources: Mapping[str, str] = field(default_factory=dict)


@dataclass
class RenderedWorkflow:
    """One workflow rendered for the stack.

    Attributes:
        name: the workflow's name.
        definition: the rendered ASL; ``${Name}``/``${Name.Attr}`` stand for the stack's
            resources (as in the ``Fn::Sub``), other text is as written.
        definition_string: the ``Fn::Sub`` text of ``definition`` (``${`` of the
            definition's own text escaped as ``${!``).
        problems: why it cannot be rendered (empty when it can).
        warnings: states the build cannot give permissions for, and the like.
    """

    name: str
    definition: dict[str, Any]
    definition_string: str
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


class _Raw(str):
    """Text that goes into the ``Fn::Sub`` as it is: its ``${...}`` are substitutions."""

    __slots__ = ()


def render_workflow(workflow: WorkflowComponent, context: RenderContext) -> RenderedWorkflow:
    """Render ``workflow``'s state machine for the stack ``context`` describes.

    The rendered definition is compiled by the engine (every ``Next``, ``Default`` and
    ``Catch`` target, every field of every state); what it refuses is a problem too.
    """
    loaded, prefix = workflow.state_machine_source()
    machine: Any = loaded.data if loaded is not None else None
    for key in prefix:
        machine = machine.get(key) if isinstance(machine, dict) else None
    file = loaded.file if loaded is not None else (workflow.definition_file or Path())
    if loaded is None or not isinstance(machine, dict):
        problem = Problem(file, None, "definition", "is missing or not a state machine")
        return RenderedWorkflow(workflow.name, {}, "", [problem])
    renderer = _Renderer(context, loaded, prefix)
    rendered = renderer.machine(machine, (), JSONATA if _jsonata(machine) else "")
    result = RenderedWorkflow(
        workflow.name,
        json.loads(json.dumps(rendered)),
        json.dumps(_escaped(rendered), indent=2),
        renderer.problems,
        renderer.warnings,
    )
    if not result.problems:
        try:
            StateMachine.from_dict(result.definition, resolver=_Rendered())
        except DefinitionError as err:
            result.problems += [
                Problem(
                    file,
                    loaded.line((*prefix, *problem.path)),
                    dotted((*prefix, *problem.path)),
                    f"the rendered state machine is not valid: {problem}",
                )
                for problem in err.problems
            ] or [Problem(file, None, "definition", str(err))]
    return result


def _jsonata(state: Mapping[str, Any], default: str = "") -> bool:
    return bool(state.get("QueryLanguage", default) == JSONATA)


class _Rendered:
    """The validator's resolver: a rendered Task state names a function or job by ARN."""

    def resolve(self, target: TaskTarget) -> TaskHandler:
        if not isinstance(target.value, str):
            raise ResourceError(f"{target.kind} was not rendered into text: {target.value!r}")
        if target.kind is TargetKind.JOB_DEFINITION:
            return TaskHandler(_never, "batch", "submitJob.sync")
        return TaskHandler(_never)


def _never(payload: Any, timeout: float | None) -> Any:  # pragma: no cover - never run
    raise AssertionError("a rendered definition is validated, not run")


def _escaped(value: Any) -> Any:
    """``value`` as ``Fn::Sub`` text: ``${`` escaped, except in :class:`_Raw` text."""
    if isinstance(value, _Raw):
        return str(value)
    if isinstance(value, str):
        return value.replace("${", "${!")
    if isinstance(value, dict):
        return {_escaped(key): _escaped(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_escaped(item) for item in value]
    return value


class _Renderer:
    def __init__(self, context: RenderContext, loaded: LoadedYaml, prefix: KeyPath) -> None:
        self.context = context
        self.loaded = loaded
        self.prefix = prefix
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []

    def report(
        self, path: KeyPath, state: str | None, message: str, *, warning: bool = False
    ) -> None:
        full = (*self.prefix, *path)
        where = f"state `{state}`: " if state else ""
        problem = Problem(
            self.loaded.file,
            self.loaded.line(full),
            dotted(full),
            where + message,
            "warning" if warning else "error",
        )
        (self.warnings if warning else self.problems).append(problem)

    # -- structure

    def machine(self, machine: dict[str, Any], path: KeyPath, language: str) -> dict[str, Any]:
        """A state machine, a Parallel branch or a Map's item processor."""
        language = machine.get("QueryLanguage", language)
        rendered: dict[str, Any] = {}
        for key, value in machine.items():
            if key == "States" and isinstance(value, dict):
                rendered[key] = {
                    name: self.state(str(name), state, (*path, key, name), language)
                    for name, state in value.items()
                }
            else:
                rendered[key] = self.value(value, (*path, key), None)
        return rendered

    def state(self, name: str, state: Any, path: KeyPath, language: str) -> Any:
        if not isinstance(state, dict):
            return self.value(state, path, name)
        language = state.get("QueryLanguage", language)
        kind = state.get("Type")
        if kind == "Task":
            return self.task(name, state, path, language == JSONATA)
        rendered: dict[str, Any] = {}
        for key, value in state.items():
            if kind == "Parallel" and key == "Branches" and isinstance(value, list):
                rendered[key] = [
                    self.machine(branch, (*path, key, index), language)
                    if isinstance(branch, dict)
                    else branch
                    for index, branch in enumerate(value)
                ]
            elif kind == "Map" and key in ("ItemProcessor", "Iterator") and isinstance(value, dict):
                rendered[key] = self.machine(value, (*path, key), language)
            else:
                rendered[key] = self.value(value, (*path, key), name)
        return rendered

    def value(self, value: Any, path: KeyPath, state: str | None) -> Any:
        """A value with the CloudFormation references in it rendered."""
        if isinstance(value, dict):
            if len(value) == 1 and next(iter(value)) in _INTRINSICS:
                return self.intrinsic(value, path, state)
            if len(value) == 1 and str(next(iter(value))).startswith("Fn::"):
                self.report(
                    path,
                    state,
                    f"{next(iter(value))} cannot be rendered into a state machine: use !Ref, "
                    "!GetAtt or !Sub",
                )
                return value
            return {key: self.value(item, (*path, key), state) for key, item in value.items()}
        if isinstance(value, list):
            return [self.value(item, (*path, index), state) for index, item in enumerate(value)]
        return value

    # -- references to other resources of the stack

    def intrinsic(self, value: dict[str, Any], path: KeyPath, state: str | None) -> Any:
        ((function, argument),) = value.items()
        if function == "Ref" and isinstance(argument, str):
            return self.placeholder(argument, None, path, state, value)
        if function == "Fn::GetAtt":
            parts = argument.split(".", 1) if isinstance(argument, str) else argument
            if (
                isinstance(parts, list)
                and len(parts) == 2
                and all(isinstance(part, str) for part in parts)
            ):
                return self.placeholder(parts[0], parts[1], path, state, value)
        if function == "Fn::Sub":
            return self.substitution(argument, path, state, value)
        self.report(path, state, f"{_shown(value)} is not a reference this build can render")
        return value

    def known(self, name: str) -> bool:
        return name.startswith("AWS::") or name in self.context.resources

    def placeholder(
        self, name: str, attribute: str | None, path: KeyPath, state: str | None, value: Any
    ) -> Any:
        if not self.known(name):
            self.report(
                path,
                state,
                f"{_shown(value)} names `{name}`, which is no resource of the stack: define it "
                "in the project's cloudformation/ folder, or name a task",
            )
            return value
        return _Raw(f"${{{name}.{attribute}}}" if attribute else f"${{{name}}}")

    def substitution(self, argument: Any, path: KeyPath, state: str | None, value: Any) -> Any:
        text, variables = argument, {}
        if isinstance(argument, list) and len(argument) == 2 and isinstance(argument[1], dict):
            text, variables = argument
        if not isinstance(text, str):
            self.report(path, state, f"{_shown(value)}: !Sub needs a text")
            return value

        def replace(match: re.Match[str]) -> str:
            inner = match[1]
            if inner.startswith("!"):
                return match[0]
            if inner in variables:
                rendered = self.value(variables[inner], path, state)
                if isinstance(rendered, str):
                    return str(rendered)
                self.report(path, state, f"!Sub variable `{inner}` must be text or a reference")
                return match[0]
            name = inner.split(".", 1)[0]
            if not self.known(name):
                self.report(
                    path,
                    state,
                    f"!Sub names `{name}`, which is no resource of the stack: define it in the "
                    "project's cloudformation/ folder",
                )
            return match[0]

        return _Raw(_SUB_VARIABLE.sub(replace, text))

    # -- Task states

    def task(self, name: str, state: dict[str, Any], path: KeyPath, jsonata: bool) -> Any:
        try:
            target = task_target(state, jsonata, path)
        except ResourceError as err:
            self.report(err.path or path, name, str(err))
            return state
        if target is None:
            self.report(
                path,
                name,
                "names its function or job at run time: the workflow's role gets no "
                "permission for it; add one in the project's cloudformation/ folder",
                warning=True,
            )
            return self.value(state, path, name)
        match = match_task(target, self.context.catalog)
        if match.problem and not match.aws_only:
            self.report(target.path, name, match.problem)
            return state
        if match.aws_only or match.task is None:
            return self.aws_only(name, state, path, target)
        task = match.task
        if match.type is TaskKind.BATCH:
            job = self.context.jobs.get(task)
            if job is None:
                self.report(target.path, name, f"task `{task}` has no Batch job in this build")
                return state
            if target.kind is TargetKind.RESOURCE:
                return self.batch_group(name, state, path, task, job, jsonata)
            if target.kind is TargetKind.FUNCTION:
                self.report(target.path, name, "FunctionName must name a Lambda task")
                return state
            key = "Arguments" if jsonata else "Parameters"
            queue = state[key].get("JobQueue")
            keep_queue = isinstance(queue, str) and queue.startswith("arn:")
            fields = [(key, "JobDefinition")] + ([] if keep_queue else [(key, "JobQueue")])
            rendered = self.without(state, path, name, fields)
            rendered[key]["JobDefinition"] = _Raw(f"${{{job.job_definition}}}")
            if not keep_queue:
                rendered[key]["JobQueue"] = (
                    _Raw(job.queue_value) if job.job_queue else job.queue_value
                )
            return rendered
        function = self.context.functions.get(task)
        if function is None:
            self.report(target.path, name, f"task `{task}` has no Lambda function in this build")
            return state
        if target.kind is TargetKind.JOB_DEFINITION:
            self.report(target.path, name, f"JobDefinition names `{task}`, which runs on Lambda")
            return state
        at = target.path[len(path) :]
        rendered = self.without(state, path, name, [at])
        place: Any = rendered
        for part in at[:-1]:
            place = place[part]
        place[at[-1]] = _Raw(f"${{{function}.Arn}}")
        return rendered

    def without(
        self, state: dict[str, Any], path: KeyPath, name: str, fields: list[KeyPath]
    ) -> dict[str, Any]:
        """``state`` rendered, but for ``fields`` (key paths inside it) the caller sets."""
        copy = deepcopy(state)
        for at in fields:
            place = copy
            for key in at[:-1]:
                place = place[key]
            place[at[-1]] = ""
        rendered: dict[str, Any] = self.value(copy, path, name)
        return rendered

    def aws_only(self, name: str, state: dict[str, Any], path: KeyPath, target: TaskTarget) -> Any:
        """A state naming no task of the project: kept as written, references rendered."""
        value = target.value
        function_arn = isinstance(value, str) and FUNCTION_ARN.fullmatch(value) is not None
        resource = state.get("Resource")
        if not function_arn and not isinstance(value, dict):
            if target.kind is TargetKind.RESOURCE and not str(resource).startswith("arn:"):
                self.report(
                    target.path,
                    name,
                    f"{_shown(value)} is neither a task of this project nor an ARN: name a task "
                    "(cirrus:lambda:<task>) or a function ARN",
                )
                return state
            self.report(
                target.path,
                name,
                f"{_shown(value)} is not a task of this project: the workflow's role gets no "
                "permission for it; add one in the project's cloudformation/ folder",
                warning=True,
            )
        return self.value(state, path, name)

    def batch_group(
        self,
        name: str,
        state: dict[str, Any],
        path: KeyPath,
        task: str,
        job: BatchTarget,
        jsonata: bool,
    ) -> Any:
        """``cirrus:batch:<task>``: upstream's Parallel [pre-batch → job → post-batch]."""
        refused = False
        if jsonata:
            self.report(
                path,
                name,
                "cirrus:batch states are rendered in JSONPath: set QueryLanguage: "
                "JSONPath on this state",
            )
            refused = True
        for key in state:
            if key in _NOT_IN_GROUP or key not in (*_TO_GROUP, *_TO_JOB, "Type", "Resource"):
                why = _NOT_IN_GROUP.get(key, "a batch group has no such field")
                self.report(
                    (*path, key),
                    name,
                    f"`{key}` cannot be kept when cirrus:batch:{task} becomes the batch group "
                    f"(pre-batch → Batch job → post-batch): {why}",
                )
                refused = True
        if refused:
            return state
        job_state = task if task not in ("pre-batch", "post-batch") else f"batch-{task}"
        submit: dict[str, Any] = {
            "Type": "Task",
            "Resource": SUBMIT_JOB_SYNC,
            "Parameters": {
                "JobName": job.job_name,
                "JobQueue": _Raw(job.queue_value) if job.job_queue else job.queue_value,
                "JobDefinition": _Raw(f"${{{job.job_definition}}}"),
                "Parameters": {"url.$": "$.url", "url_out.$": "$.url_out"},
            },
        }
        for key in _TO_JOB:
            if key in state:
                submit[key] = state[key]
        submit["Retry"] = [dict(BATCH_RETRY)]
        submit["Catch"] = [
            {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "post-batch"}
        ]
        submit["Next"] = "post-batch"
        group: dict[str, Any] = {"Type": "Parallel"}
        for key in ("Comment", "InputPath", "Parameters"):
            if key in state:
                group[key] = self.value(state[key], (*path, key), name)
        group["Branches"] = [
            {
                "StartAt": "pre-batch",
                "States": {
                    "pre-batch": {
                        "Type": "Task",
                        "Resource": _Raw(f"${{{self.context.pre_batch}.Arn}}"),
                        "Retry": [dict(LAMBDA_RETRY)],
                        "Next": job_state,
                    },
                    job_state: submit,
                    "post-batch": {
                        "Type": "Task",
                        "Resource": _Raw(f"${{{self.context.post_batch}.Arn}}"),
                        "Retry": [dict(LAMBDA_RETRY)],
                        "End": True,
                    },
                },
            }
        ]
        group["OutputPath"] = "$[0]"
        for key in ("Retry", "Catch", "Next", "End"):
            if key in state:
                group[key] = self.value(state[key], (*path, key), name)
        return group


@dataclass(frozen=True)
class WorkflowReferences:
    """What a rendered definition runs, as its role must allow.

    Attributes:
        functions: logical ids of the stack's functions it invokes.
        function_arns: other Lambda functions, by ARN.
        job_definitions: logical ids of the stack's job definitions it submits.
        job_queues: the job queues it submits to: ``${Id}`` of the stack's, or names/ARNs.
        batch: whether it runs Batch jobs at all.
    """

    functions: tuple[str, ...] = ()
    function_arns: tuple[str, ...] = ()
    job_definitions: tuple[str, ...] = ()
    job_queues: tuple[str, ...] = ()
    batch: bool = False


def workflow_references(
    definition: Mapping[str, Any], resource_types: Mapping[str, str]
) -> WorkflowReferences:
    """The functions, job definitions and queues a rendered definition names.

    Found in the rendered text, as FilmDrop finds them: a ``${Id.Arn}`` of a Lambda
    function, a ``${Id}`` of a job definition or queue, a Lambda function ARN.

    Args:
        definition: a rendered definition (:attr:`RenderedWorkflow.definition`).
        resource_types: the stack's resources (logical id → type).
    """
    functions: dict[str, None] = {}
    arns: dict[str, None] = {}
    jobs: dict[str, None] = {}
    queues: dict[str, None] = {}
    batch = False
    for task in _task_states(definition):
        resource = task.get("Resource")
        parameters = task.get("Parameters")
        parameters = parameters if isinstance(parameters, dict) else {}
        if resource in (SUBMIT_JOB, SUBMIT_JOB_SYNC):
            batch = True
            for value, found in (
                (parameters.get("JobDefinition"), jobs),
                (parameters.get("JobQueue"), queues),
            ):
                if isinstance(value, str):
                    found[value] = None
            continue
        value = parameters.get("FunctionName") if resource == LAMBDA_INVOKE else resource
        if not isinstance(value, str):
            continue
        placeholder = _PLACEHOLDER.fullmatch(value)
        if placeholder and resource_types.get(placeholder["name"]) == "AWS::Lambda::Function":
            functions[placeholder["name"]] = None
        elif FUNCTION_ARN.fullmatch(value):
            arns[value] = None
    job_ids = []
    for value in jobs:
        placeholder = _PLACEHOLDER.fullmatch(value)
        if placeholder and resource_types.get(placeholder["name"]) == "AWS::Batch::JobDefinition":
            job_ids.append(placeholder["name"])
    return WorkflowReferences(tuple(functions), tuple(arns), tuple(job_ids), tuple(queues), batch)


def _task_states(machine: Mapping[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    states = machine.get("States")
    for state in states.values() if isinstance(states, dict) else ():
        if not isinstance(state, dict):
            continue
        if state.get("Type") == "Task":
            found.append(state)
        for branch in state.get("Branches", []) if isinstance(state.get("Branches"), list) else ():
            if isinstance(branch, dict):
                found += _task_states(branch)
        for key in ("ItemProcessor", "Iterator"):
            if isinstance(state.get(key), dict):
                found += _task_states(state[key])
    return found


def _shown(value: Any) -> str:
    return repr(value) if isinstance(value, str) else json.dumps(value)
