"""Task ``Resource`` strings resolved to handlers through a pluggable registry.

A :class:`ResourceRegistry` maps every Task state's ``Resource`` to a
:class:`TaskHandler` when the definition loads; a resource that nothing resolves is a
:class:`~cirrus.errors.DefinitionError` naming the state. The built-in resolvers run
project tasks through a :class:`TaskRunner`:

=============================================  ==========================================
Resource                                       runs
=============================================  ==========================================
``cirrus:lambda:<task>``                       ``run_lambda`` (in-process)
``cirrus:batch:<task>``                        ``run_batch`` (separate process)
``arn:aws:lambda:<r>:<a>:function:<name>``     the task whose name ends ``<name>``
``!GetAtt <task>.Arn`` (YAML tag)              ``run_lambda``
``arn:aws:states:::lambda:invoke``             ``Parameters.FunctionName``, AWS-shaped result
``arn:aws:states:::batch:submitJob.sync``      ``Parameters.JobDefinition`` via ``run_batch``
=============================================  ==========================================

More resolvers (AWS-only integrations, say) plug in with :meth:`ResourceRegistry.register`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

from cirrus.engine.errors import StatesError, TaskFailure

__all__ = [
    "EmptyTaskRunner",
    "ResolveRequest",
    "ResourceError",
    "ResourceRegistry",
    "TaskHandler",
    "TaskRunner",
    "default_task_runner",
]

GETATT_PREFIX = "!GetAtt "
REF_PREFIX = "!Ref "


@runtime_checkable
class TaskRunner(Protocol):
    """Runs project tasks for Task states; the task library implements it."""

    def has_task(self, name: str) -> bool:
        """Whether a task of that name exists."""
        ...

    def task_types(self, name: str) -> set[str]:
        """The ways the task can run: a subset of ``{"lambda", "batch"}``."""
        ...

    def run_lambda(self, name: str, event: Any, *, timeout: float | None) -> Any:
        """Run the task in-process; raise :class:`TaskFailure` when it fails."""
        ...

    def run_batch(self, name: str, payload: Any, *, timeout: float | None) -> Any:
        """Run the task in a separate OS process; raise :class:`TaskFailure` when it fails.

        On timeout the error is ``States.Timeout``.
        """
        ...


class EmptyTaskRunner:
    """A :class:`TaskRunner` with no tasks: every project task resource fails to resolve."""

    def has_task(self, name: str) -> bool:
        """No task exists."""
        return False

    def task_types(self, name: str) -> set[str]:
        """No task has a type."""
        return set()

    def run_lambda(self, name: str, event: Any, *, timeout: float | None) -> Any:
        """Never called: resolution fails first."""
        raise TaskFailure("States.TaskFailed", f"no task named {name!r}")

    def run_batch(self, name: str, payload: Any, *, timeout: float | None) -> Any:
        """Never called: resolution fails first."""
        raise TaskFailure("States.TaskFailed", f"no task named {name!r}")


def default_task_runner() -> TaskRunner:
    """The project's task runner, or one with no tasks when the task library is absent."""
    try:
        from cirrus.task.runner import LocalTaskRunner  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return EmptyTaskRunner()
    runner: TaskRunner = LocalTaskRunner()
    return runner


class ResourceError(ValueError):
    """A resource cannot be resolved; the message says why and how to fix it."""


Invoke = Callable[[Any, "float | None"], Any]


@dataclass(frozen=True, slots=True)
class TaskHandler:
    """What a Task state runs.

    Attributes:
        invoke: ``invoke(payload, timeout)`` returns the task result or raises
            :class:`TaskFailure` / :class:`StatesError`.
        resource_type: the history ``resourceType`` (``lambda``, ``batch``).
        resource: the history ``resource`` (``invoke``, ``submitJob.sync``).
        lambda_events: record ``LambdaFunction*`` history events instead of ``Task*``.
        needs_thread: the handler does I/O, so Map/Parallel may run it concurrently.
    """

    invoke: Invoke
    resource_type: str
    resource: str
    lambda_events: bool = False
    needs_thread: bool = True


@dataclass(frozen=True, slots=True)
class ResolveRequest:
    """What a resolver gets: the resource, the state's raw Parameters, the registry."""

    resource: str
    parameters: Any
    state_name: str
    registry: ResourceRegistry


Resolver = Callable[[ResolveRequest], "TaskHandler | None"]


@dataclass
class ResourceRegistry:
    """Resolves Task ``Resource`` strings to handlers.

    Args:
        task_runner: runs project tasks; defaults to one with no tasks.
        region: region shown in AWS-shaped results.
        account: account id shown in AWS-shaped results.
    """

    task_runner: TaskRunner = field(default_factory=EmptyTaskRunner)
    region: str = "us-east-1"
    account: str = "123456789012"
    _resolvers: list[tuple[Callable[[str], bool], Resolver]] = field(default_factory=list)

    def __post_init__(self) -> None:
        for matcher, resolver in _BUILTIN:
            self.register(matcher, resolver, first=False)

    def register(
        self,
        match: str | re.Pattern[str] | Callable[[str], bool],
        resolver: Resolver,
        *,
        first: bool = True,
    ) -> None:
        """Add a resolver for resources matching ``match``.

        Args:
            match: a prefix string, a compiled regex (``fullmatch``) or a predicate.
            resolver: builds the handler; returns None to let later resolvers try, or
                raises :class:`ResourceError` with the problem.
            first: try this resolver before the ones already registered.
        """
        if isinstance(match, str):
            prefix = match
            matcher: Callable[[str], bool] = lambda resource: resource.startswith(prefix)  # noqa: E731
        elif isinstance(match, re.Pattern):
            pattern = match
            matcher = lambda resource: pattern.fullmatch(resource) is not None  # noqa: E731
        else:
            matcher = match
        if first:
            self._resolvers.insert(0, (matcher, resolver))
        else:
            self._resolvers.append((matcher, resolver))

    def resolve(self, resource: str, parameters: Any, state_name: str) -> TaskHandler:
        """The handler for a Task state's resource.

        Raises:
            ResourceError: no resolver accepts the resource, or the task it names is
                missing or of the wrong type.
        """
        if not isinstance(resource, str):
            raise ResourceError(f"Resource must be a string, got {resource!r}")
        request = ResolveRequest(resource, parameters, state_name, self)
        for matcher, resolver in self._resolvers:
            if matcher(resource):
                handler = resolver(request)
                if handler is not None:
                    return handler
        raise ResourceError(
            f"Resource {resource!r} is not supported locally: use cirrus:lambda:<task>, "
            "cirrus:batch:<task>, a Lambda function ARN, arn:aws:states:::lambda:invoke or "
            "arn:aws:states:::batch:submitJob.sync"
        )

    # ---------------------------------------------------------------- task lookups

    def require_task(self, name: str, kind: str) -> str:
        """Check that task ``name`` exists and can run as ``kind``; returns the name."""
        runner = self.task_runner
        if not runner.has_task(name):
            raise ResourceError(f"there is no task named {name!r}: check the name or add the task")
        if kind not in runner.task_types(name):
            raise ResourceError(
                f"task {name!r} cannot run as a {kind} task (it supports "
                f"{', '.join(sorted(runner.task_types(name))) or 'nothing'})"
            )
        return name

    def task_for_function(self, function: str) -> str:
        """The lambda task a Lambda function name or ARN refers to.

        Accepts a task name, ``!GetAtt <task>.Arn``, a function ARN (with or without a
        version or alias), or a function name ending with a task name (upstream names
        functions ``<stack>-<task>``): the longest such task name wins.
        """
        if function.startswith(GETATT_PREFIX):
            target = function[len(GETATT_PREFIX) :].strip()
            return self.require_task(target.removesuffix(".Arn"), "lambda")
        name = function
        match = _FUNCTION_ARN.fullmatch(function)
        if match is not None:
            name = match.group("name")
        runner = self.task_runner
        if runner.has_task(name):
            return self.require_task(name, "lambda")
        candidates = _suffix_candidates(name)
        for candidate in candidates:
            if runner.has_task(candidate) and "lambda" in runner.task_types(candidate):
                return candidate
        raise ResourceError(
            f"no lambda task matches function {function!r}: name the task, or end the "
            "function name with '-<task>'"
        )

    def task_for_job_definition(self, definition: str) -> str:
        """The batch task a Batch job definition (name, ARN or ``!Ref <task>``) refers to."""
        name = definition
        if name.startswith(REF_PREFIX):
            name = name[len(REF_PREFIX) :].strip()
        match = _JOB_DEFINITION_ARN.fullmatch(name)
        if match is not None:
            name = match.group("name")
        elif ":" in name and not name.startswith("arn:"):
            name = name.split(":", 1)[0]  # name:revision
        runner = self.task_runner
        if runner.has_task(name):
            return self.require_task(name, "batch")
        for candidate in _suffix_candidates(name):
            if runner.has_task(candidate) and "batch" in runner.task_types(candidate):
                return candidate
        raise ResourceError(
            f"no batch task matches job definition {definition!r}: name the task, or end "
            "the job definition name with '-<task>'"
        )


_FUNCTION_ARN = re.compile(
    r"arn:aws[a-z-]*:lambda:(?P<region>[^:]*):(?P<account>[^:]*):function:(?P<name>[^:]+)(?::[^:]+)?"
)
_JOB_DEFINITION_ARN = re.compile(
    r"arn:aws[a-z-]*:batch:[^:]*:[^:]*:job-definition/(?P<name>[^:]+)(?::\d+)?"
)


def _suffix_candidates(name: str) -> list[str]:
    """Task names a function name may end with, longest first: ``a-b-c`` → ``b-c``, ``c``."""
    out: list[str] = []
    for index, char in enumerate(name):
        if char in "-_" and index + 1 < len(name):
            out.append(name[index + 1 :])
    return out


# --------------------------------------------------------------------------- built-ins


def _lambda_call(registry: ResourceRegistry, task: str) -> Invoke:
    runner = registry.task_runner

    def invoke(payload: Any, timeout: float | None) -> Any:
        return runner.run_lambda(task, payload, timeout=timeout)

    return invoke


def _resolve_cirrus(request: ResolveRequest) -> TaskHandler | None:
    _, kind, task = ([*request.resource.split(":", 2), "", ""])[:3]
    if kind not in {"lambda", "batch"} or not task:
        raise ResourceError(
            f"Resource {request.resource!r} must be cirrus:lambda:<task> or cirrus:batch:<task>"
        )
    registry = request.registry
    registry.require_task(task, kind)
    runner = registry.task_runner
    if kind == "lambda":
        return TaskHandler(_lambda_call(registry, task), "lambda", "invoke")

    def invoke_batch(payload: Any, timeout: float | None) -> Any:
        return runner.run_batch(task, payload, timeout=timeout)

    return TaskHandler(invoke_batch, "batch", "submitJob.sync")


def _resolve_function(request: ResolveRequest) -> TaskHandler | None:
    task = request.registry.task_for_function(request.resource)
    return TaskHandler(_lambda_call(request.registry, task), "lambda", "invoke", lambda_events=True)


def _static_or_dynamic(parameters: Any, key: str) -> tuple[str | None, bool]:
    """A Parameters field's static value, or (None, True) when it is set with ``.$``."""
    if not isinstance(parameters, dict):
        return None, False
    if f"{key}.$" in parameters:
        return None, True
    value = parameters.get(key)
    return (value if isinstance(value, str) else None), False


def _resolve_lambda_invoke(request: ResolveRequest) -> TaskHandler | None:
    if request.resource != "arn:aws:states:::lambda:invoke":
        if request.resource.startswith("arn:aws:states:::lambda:invoke.waitForTaskToken"):
            raise ResourceError("lambda:invoke.waitForTaskToken is not supported locally")
        return None
    registry = request.registry
    function, dynamic = _static_or_dynamic(request.parameters, "FunctionName")
    if function is None and not dynamic:
        raise ResourceError("arn:aws:states:::lambda:invoke needs Parameters.FunctionName")
    static_task = registry.task_for_function(function) if function is not None else None
    runner = registry.task_runner

    def invoke(params: Any, timeout: float | None) -> Any:
        task = static_task
        if task is None:
            try:
                task = registry.task_for_function(str(params.get("FunctionName")))
            except ResourceError as err:
                raise StatesError("Lambda.ResourceNotFoundException", str(err)) from None
        payload = params.get("Payload", {}) if isinstance(params, dict) else {}
        result = runner.run_lambda(task, payload, timeout=timeout)
        return lambda_invoke_result(result)

    return TaskHandler(invoke, "lambda", "invoke")


def lambda_invoke_result(payload: Any) -> dict[str, Any]:
    """The result of ``arn:aws:states:::lambda:invoke`` as AWS shapes it."""
    request_id = str(uuid.uuid4())
    headers = {
        "Connection": "keep-alive",
        "Content-Type": "application/json",
        "X-Amz-Executed-Version": "$LATEST",
        "x-amzn-Remapped-Content-Length": "0",
        "x-amzn-RequestId": request_id,
    }
    return {
        "ExecutedVersion": "$LATEST",
        "Payload": payload,
        "SdkHttpMetadata": {
            "AllHttpHeaders": {key: [value] for key, value in headers.items()},
            "HttpHeaders": headers,
            "HttpStatusCode": 200,
        },
        "SdkResponseMetadata": {"RequestId": request_id},
        "StatusCode": 200,
    }


def _resolve_batch(request: ResolveRequest) -> TaskHandler | None:
    resource = request.resource
    if resource != "arn:aws:states:::batch:submitJob.sync":
        if resource.startswith("arn:aws:states:::batch:submitJob"):
            raise ResourceError(
                f"{resource!r} is not supported locally: use arn:aws:states:::batch:submitJob.sync"
            )
        return None
    registry = request.registry
    definition, dynamic = _static_or_dynamic(request.parameters, "JobDefinition")
    if definition is None and not dynamic:
        raise ResourceError("arn:aws:states:::batch:submitJob.sync needs Parameters.JobDefinition")
    static_task = registry.task_for_job_definition(definition) if definition is not None else None
    runner = registry.task_runner

    def invoke(params: Any, timeout: float | None) -> Any:
        params = params if isinstance(params, dict) else {}
        task = static_task
        if task is None:
            try:
                task = registry.task_for_job_definition(str(params.get("JobDefinition")))
            except ResourceError as err:
                raise StatesError("Batch.ClientException", str(err)) from None
        job_parameters = params.get("Parameters", {})
        created = _millis()
        runner.run_batch(task, job_parameters, timeout=timeout)
        return batch_job_detail(params, task, registry, created)

    return TaskHandler(invoke, "batch", "submitJob.sync")


def _millis() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


def batch_job_detail(
    params: dict[str, Any], task: str, registry: ResourceRegistry, created: int
) -> dict[str, Any]:
    """A Batch ``DescribeJobs`` job detail for a job that succeeded, as ``.sync`` returns it."""
    job_id = str(uuid.uuid4())
    stopped = _millis()
    prefix = f"arn:aws:batch:{registry.region}:{registry.account}"
    queue = str(params.get("JobQueue", "default"))
    return {
        "Attempts": [
            {
                "Container": {"ExitCode": 0, "LogStreamName": f"{task}/default/{job_id}"},
                "StartedAt": created,
                "StatusReason": "Essential container in task exited",
                "StoppedAt": stopped,
            }
        ],
        "Container": {"ExitCode": 0, "Command": [], "Environment": []},
        "CreatedAt": created,
        "DependsOn": [],
        "JobArn": f"{prefix}:job/{job_id}",
        "JobDefinition": f"{prefix}:job-definition/{task}:1",
        "JobId": job_id,
        "JobName": str(params.get("JobName", task)),
        "JobQueue": queue if queue.startswith("arn:") else f"{prefix}:job-queue/{queue}",
        "Parameters": params.get("Parameters", {}),
        "StartedAt": created,
        "Status": "SUCCEEDED",
        "StatusReason": "Essential container in task exited",
        "StoppedAt": stopped,
        "Tags": {},
    }


_BUILTIN: list[tuple[Callable[[str], bool], Resolver]] = [
    (lambda r: r.startswith("cirrus:"), _resolve_cirrus),
    (lambda r: r.startswith("arn:aws:states:::lambda:"), _resolve_lambda_invoke),
    (lambda r: r.startswith("arn:aws:states:::batch:"), _resolve_batch),
    (
        lambda r: r.startswith(GETATT_PREFIX) or _FUNCTION_ARN.fullmatch(r) is not None,
        _resolve_function,
    ),
]
