"""The resource kinds of a Task state, and the results AWS gives them.

=============================================  ==========================================
``Resource``                                   runs, and returns
=============================================  ==========================================
``arn:aws:states:::lambda:invoke``             ``Parameters.FunctionName``; the invoke
                                               response (``Payload``, ``StatusCode``, ...)
``arn:aws:states:::batch:submitJob.sync``      ``Parameters.JobDefinition`` with
                                               ``Parameters.Parameters``; the job detail
anything else (a Lambda function ARN, or       the resource itself, as the resolver
another integration)                           runs it
=============================================  ==========================================

A job whose handler raises :class:`BatchJobFailed` fails its ``batch:submitJob.sync``
state as AWS does: ``States.TaskFailed``, with the job detail (``Status: FAILED``, the
container's exit code and ``LogStreamName``) as JSON in the cause, which upstream's
``post-batch`` reads. Any other error a handler raises keeps its own name and message.

What each name means comes from the :class:`~cirrus.engine.tasks.TaskResolver`. A name set
at run time (``FunctionName.$``) is resolved when the state runs; a name nothing resolves
then fails the state with ``Lambda.ResourceNotFoundException`` or ``Batch.ClientException``.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cirrus.engine.errors import TASK_FAILED, StatesError
from cirrus.engine.limits import result_too_large
from cirrus.engine.tasks import (
    FUNCTION_ARN,
    Invoke,
    ResourceError,
    Spill,
    TargetKind,
    TaskHandler,
    TaskResolver,
    TaskTarget,
)

__all__ = [
    "BATCH_SUBMIT_JOB_SYNC",
    "LAMBDA_INVOKE",
    "WAIT_FOR_TASK_TOKEN",
    "BatchJobFailed",
    "BoundTask",
    "batch_job_detail",
    "bind_task",
    "lambda_invoke_result",
    "task_target",
]

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
WAIT_FOR_TASK_TOKEN = ".waitForTaskToken"  # noqa: S105 - a resource suffix, not a secret
"""The suffix of a Resource that waits for a task token (the callback pattern)."""
BATCH_SUBMIT_JOB_SYNC = "arn:aws:states:::batch:submitJob.sync"
_FIELDS = {LAMBDA_INVOKE: "FunctionName", BATCH_SUBMIT_JOB_SYNC: "JobDefinition"}
REGION = "us-east-1"
ACCOUNT = "123456789012"


class BatchJobFailed(StatesError):
    """Raised by a job's handler: the job ran and failed, as a Batch job does.

    In a ``batch:submitJob.sync`` state the failure becomes AWS's: ``States.TaskFailed``
    with the FAILED job detail as JSON in the cause. Raised anywhere else, it is a plain
    ``States.TaskFailed`` with ``message`` as its cause.

    Args:
        message: what happened, for the plain form.
        log_stream_name: where the job's log is (on AWS a stream of the ``/aws/batch/job``
            log group); None when the container never logged anything.
        exit_code: the container's exit code, when it ran.
        reason: why the container stopped (``Container.Reason``), when known.
    """

    def __init__(
        self,
        message: str,
        *,
        log_stream_name: str | None = None,
        exit_code: int | None = None,
        reason: str | None = None,
    ) -> None:
        super().__init__(TASK_FAILED, message)
        self.log_stream_name = log_stream_name
        self.exit_code = exit_code
        self.reason = reason


@dataclass(frozen=True, slots=True)
class BoundTask:
    """A Task state's resolved work, as the runner calls it.

    Attributes:
        invoke: ``invoke(effective parameters, timeout)`` gives the state's result.
        resource_type: history ``resourceType``.
        resource: history ``resource``.
        lambda_events: record ``LambdaFunction*`` history events (a function ARN resource).
        callback: the resource ends in ``.waitForTaskToken``: after ``invoke`` hands the
            token on, the state waits for an answer (:mod:`cirrus.engine.callbacks`).
        spill: how the resource hands on a result too big for a state, or None.
    """

    invoke: Invoke
    resource_type: str
    resource: str
    lambda_events: bool = False
    callback: bool = False
    spill: Spill | None = None


def task_target(
    raw: dict[str, Any], jsonata: bool, path: tuple[str | int, ...] = ()
) -> TaskTarget | None:
    """What a Task state names, or None when the name is only known at run time.

    Args:
        raw: the Task state as written.
        jsonata: the state uses JSONata (its parameters are ``Arguments``).
        path: key path of the state in the definition.

    Raises:
        ResourceError: the resource is an integration that is not supported, or lacks
            the parameter that names what to run.
    """
    resource = raw.get("Resource")
    if isinstance(resource, str) and resource.endswith(WAIT_FOR_TASK_TOKEN):
        resource = resource[: -len(WAIT_FOR_TASK_TOKEN)]
        if resource not in _FIELDS:
            return TaskTarget(TargetKind.RESOURCE, raw["Resource"], (*path, "Resource"))
    if isinstance(resource, str) and resource in _FIELDS:
        field = _FIELDS[resource]
        key = "Arguments" if jsonata else "Parameters"
        parameters = raw.get(key)
        parameters = parameters if isinstance(parameters, dict) else {}
        if f"{field}.$" in parameters or (jsonata and _is_expression(parameters.get(field))):
            return None
        if field not in parameters:
            raise ResourceError(f"{resource} needs {key}.{field}", (*path, key))
        kind = TargetKind.FUNCTION if field == "FunctionName" else TargetKind.JOB_DEFINITION
        return TaskTarget(kind, parameters[field], (*path, key, field))
    if resource is None or resource == "":
        raise ResourceError("Task needs a Resource")
    return TaskTarget(TargetKind.RESOURCE, resource, (*path, "Resource"))


def _is_expression(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("{%") and value.endswith("%}")


def bind_task(
    raw: dict[str, Any], jsonata: bool, resolver: TaskResolver, path: tuple[str | int, ...] = ()
) -> BoundTask:
    """Resolve a Task state once, when its state machine loads.

    Raises:
        ResourceError: the resource kind is unsupported or the resolver refuses its target.
    """
    resource = raw.get("Resource")
    callback = isinstance(resource, str) and resource.endswith(WAIT_FOR_TASK_TOKEN)
    target = task_target(raw, jsonata, path)
    try:
        handler = resolver.resolve(target) if target is not None else None
    except ResourceError as err:
        raise ResourceError(str(err), err.path or target.path if target else path) from None
    if target is not None and target.kind is TargetKind.RESOURCE:
        assert handler is not None
        is_arn = isinstance(resource, str) and FUNCTION_ARN.fullmatch(resource) is not None
        return BoundTask(
            handler.invoke, handler.resource_type, handler.resource, is_arn, callback, handler.spill
        )
    static = handler.invoke if handler is not None else None
    spill = handler.spill if handler is not None else None
    if resource == LAMBDA_INVOKE:
        return BoundTask(_lambda_invoke(static, resolver, spill), "lambda", "invoke")
    if resource == LAMBDA_INVOKE + WAIT_FOR_TASK_TOKEN:
        invoke = _lambda_invoke(static, resolver, spill)
        return BoundTask(invoke, "lambda", "invoke.waitForTaskToken", callback=True)
    return BoundTask(_batch_submit(static, resolver), "batch", "submitJob.sync")


def _lambda_invoke(static: Invoke | None, resolver: TaskResolver, spill: Spill | None) -> Invoke:
    def invoke(params: Any, timeout: float | None) -> Any:
        params = params if isinstance(params, dict) else {}
        call, spills = static, spill
        if call is None:  # named at run time ("FunctionName.$")
            handler = _resolve_at_run_time(
                resolver,
                TargetKind.FUNCTION,
                params.get("FunctionName"),
                "Lambda.ResourceNotFoundException",
            )
            call, spills = handler.invoke, handler.spill
        output = call(params.get("Payload", {}), timeout)
        if spills is not None and result_too_large(output, spills.above):
            output = spills.store(output)  # the function's own output, before it is wrapped
        return lambda_invoke_result(output)

    return invoke


def _batch_submit(static: Invoke | None, resolver: TaskResolver) -> Invoke:
    def invoke(params: Any, timeout: float | None) -> Any:
        params = params if isinstance(params, dict) else {}
        call = static or (
            _resolve_at_run_time(
                resolver,
                TargetKind.JOB_DEFINITION,
                params.get("JobDefinition"),
                "Batch.ClientException",
            ).invoke
        )
        created = _millis()
        try:
            call(params.get("Parameters", {}), timeout)
        except BatchJobFailed as failed:
            detail = batch_job_detail(params, created, failed)
            raise StatesError(TASK_FAILED, json.dumps(detail, separators=(",", ":"))) from None
        return batch_job_detail(params, created)

    return invoke


def _resolve_at_run_time(
    resolver: TaskResolver, kind: TargetKind, value: Any, error: str
) -> TaskHandler:
    try:
        return resolver.resolve(TaskTarget(kind, value))
    except ResourceError as err:
        raise StatesError(error, str(err)) from None


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


def _millis() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


def batch_job_detail(
    params: dict[str, Any], created: int, failed: BatchJobFailed | None = None
) -> dict[str, Any]:
    """A Batch ``DescribeJobs`` job detail, as ``.sync`` returns it (or, failed, its cause).

    Args:
        params: the state's effective ``Parameters``.
        created: when the job was submitted, in milliseconds since the epoch.
        failed: how the job failed; None for a job that succeeded.
    """
    job_id = str(uuid.uuid4())
    stopped = _millis()
    prefix = f"arn:aws:batch:{REGION}:{ACCOUNT}"
    definition = str(params.get("JobDefinition", "job"))
    name = definition.rsplit("/", 1)[-1].split(":", 1)[0]
    queue = str(params.get("JobQueue", "default"))
    attempt: dict[str, Any] = {"ExitCode": 0, "LogStreamName": f"{name}/default/{job_id}"}
    container: dict[str, Any] = {"ExitCode": 0, "Command": [], "Environment": []}
    if failed is not None:
        attempt = {}
        if failed.exit_code is not None:
            attempt["ExitCode"] = container["ExitCode"] = failed.exit_code
        else:
            del container["ExitCode"]
        if failed.log_stream_name is not None:
            attempt["LogStreamName"] = container["LogStreamName"] = failed.log_stream_name
        if failed.reason is not None:
            attempt["Reason"] = container["Reason"] = failed.reason
    return {
        "Attempts": [
            {
                "Container": attempt,
                "StartedAt": created,
                "StatusReason": "Essential container in task exited",
                "StoppedAt": stopped,
            }
        ],
        "Container": container,
        "CreatedAt": created,
        "DependsOn": [],
        "JobArn": f"{prefix}:job/{job_id}",
        "JobDefinition": (
            definition if definition.startswith("arn:") else f"{prefix}:job-definition/{name}:1"
        ),
        "JobId": job_id,
        "JobName": str(params.get("JobName", name)),
        "JobQueue": queue if queue.startswith("arn:") else f"{prefix}:job-queue/{queue}",
        "Parameters": params.get("Parameters", {}),
        "StartedAt": created,
        "Status": "SUCCEEDED" if failed is None else "FAILED",
        "StatusReason": "Essential container in task exited",
        "StoppedAt": stopped,
        "Tags": {},
    }
