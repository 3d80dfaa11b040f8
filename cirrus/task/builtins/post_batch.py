"""The ``post-batch`` task: a Batch job's output payload, or the error it failed with.

It follows a ``arn:aws:states:::batch:submitJob.sync`` state, both as its ``Next`` and as
the target of its ``Catch`` (``ResultPath: $.error``), as upstream Cirrus workflows have it.

- **The job succeeded**: the input is the job detail (``Parameters.url``), or ``pre-batch``'s
  ``{"url", "url_out"}`` with the job's result beside it. The output payload is read from
  ``url_out`` (else ``url`` with ``_out`` before ``.json``) and returned.
- **The job failed**: the input carries the caught error, ``{"Error", "Cause"}`` (under
  ``error``, or as the whole input). Its cause is the failed job's detail; the log stream
  of its last attempt (``Attempts[-1].Container.LogStreamName``, else
  ``Container.LogStreamName``) is read from CloudWatch Logs (log group ``/aws/batch/job``,
  or ``$CIRRUS_BATCH_LOG_GROUP``), and its last line ``SomeError: message`` is raised as an
  error named ``SomeError`` (``UnknownError`` when the line names none). With no log to
  read, the error says the container likely never ran, with the reasons Batch gave.

Run locally, the job detail's ``LogStreamName`` is the URL of the failed process's kept
stderr (CloudWatch stream names cannot contain ``:``, so the two never mix), and is read
from storage instead. A caught error whose cause is no job detail (``States.Timeout``, a
submit that failed) is raised again as it is.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from cirrus.errors import ConfigError, NotFound, PayloadError, StorageError, TaskError
from cirrus.task.base import Task

__all__ = [
    "BATCH_LOG_GROUP",
    "BATCH_LOG_GROUP_ENV",
    "UNKNOWN_ERROR",
    "PostBatch",
    "batch_error",
    "last_log_line",
]

BATCH_LOG_GROUP = "/aws/batch/job"
"""The log group AWS Batch writes job logs to by default."""
BATCH_LOG_GROUP_ENV = "CIRRUS_BATCH_LOG_GROUP"
"""Names another log group (a job definition with its own ``awslogs-group``)."""
UNKNOWN_ERROR = "UnknownError"
"""The error name of a last log line that names none."""

_ERROR_LINE = re.compile(r"(?:(?P<name>[\w.]+):)?\s*(?P<message>.*)")
_LAST_EVENTS = 20  # read from the end of the stream: the last line is among them


class PostBatch(Task):
    """Return a Batch job's output payload, or raise the error its log ends with.

    Put it after a ``batch:submitJob.sync`` state, as its ``Next`` and as the target of its
    ``Catch`` (``ResultPath: $.error``). After a job that succeeded it returns the payload
    stored at ``url_out`` (of pre-batch's reference, or ``Parameters.url`` of the job detail
    with ``_out`` before ``.json``). After a failure it reads the last line of the job's log
    (CloudWatch Logs, group ``/aws/batch/job`` or ``$CIRRUS_BATCH_LOG_GROUP``; locally the
    kept stderr of the task's process) and raises ``SomeError: message`` as an error named
    ``SomeError``; with no log, an error saying the container likely never ran.
    """

    name = "post-batch"
    description = "Returns a Batch job's output payload, or raises the error it failed with"
    version = "1.0.0"

    @classmethod
    def handler(cls, payload: dict[str, Any], context: Any = None, **kwargs: Any) -> Any:
        """The output payload of the job, read from its ``url_out``.

        Args:
            payload: what the batch state passed on (see the module docstring).
            context: the Lambda context (unused).
            **kwargs: task options (ignored).

        Raises:
            TaskError: the job failed: the error named by the last line of its log.
            PayloadError: the input names no output and carries no error.
            NotFound: nothing is stored at the output URL.
        """
        from cirrus.storage import load_payload

        if not isinstance(payload, dict):
            raise PayloadError("$", f"must be a JSON object, not {type(payload).__name__}")
        caught = _caught_error(payload)
        if caught is not None:
            raise batch_error(caught)
        return load_payload({"url": _output_url(payload)})

    def process(self, **kwargs: Any) -> list[dict[str, Any]]:
        """The items as they are: the work happens in :meth:`handler`."""
        return self.items_as_dicts


def _caught_error(event: dict[str, Any]) -> dict[str, Any] | None:
    """The ``{"Error", "Cause"}`` a Catch put in the input, if any."""
    if "error" in event:
        caught = event["error"]
        if not isinstance(caught, dict):
            raise PayloadError(
                "$.error", "must be the caught error", 'an object {"Error": ..., "Cause": ...}'
            )
        return caught
    if "Error" in event or "Cause" in event:
        return event
    return None


def _output_url(event: dict[str, Any]) -> str:
    from cirrus.task.runner import batch_output_url

    # pre-batch's reference (the job's result put beside it), then the job detail's Parameters
    sources = [event, event.get("Parameters")]
    for source in sources:
        if isinstance(source, dict) and isinstance(source.get("url_out"), str):
            return str(source["url_out"])
    for source in sources:
        if isinstance(source, dict) and isinstance(source.get("url"), str):
            return batch_output_url(source["url"])
    raise PayloadError(
        "$.url_out",
        "is missing",
        "post-batch reads the job's output at url_out, or at Parameters.url of the job "
        "detail (with _out before .json); put pre-batch before the batch state",
    )


def batch_error(caught: dict[str, Any]) -> TaskError:
    """The error a failed Batch job reports, from the error a Catch caught.

    Args:
        caught: ``{"Error": ..., "Cause": ...}``; the cause is the job detail as JSON.

    Returns:
        An error named by the last line of the job's log; the caught error itself when its
        cause is no job detail; "container likely never ran" when there is no log.
    """
    name = str(caught.get("Error") or UNKNOWN_ERROR)
    cause = caught.get("Cause")
    detail = _job_detail(cause)
    if detail is None:
        return TaskError(name, "" if cause is None else str(cause))
    attempts = detail.get("Attempts")
    attempt = attempts[-1] if isinstance(attempts, list) and attempts else {}
    attempt = attempt if isinstance(attempt, dict) else {}
    containers: list[dict[str, Any]] = [
        container
        for container in (attempt.get("Container"), detail.get("Container"))
        if isinstance(container, dict)
    ]
    stream = next(
        (c["LogStreamName"] for c in containers if isinstance(c.get("LogStreamName"), str)), None
    )
    if stream:
        try:
            line = last_log_line(stream)
        except (StorageError, ConfigError) as err:
            return TaskError(name, f"the Batch job failed and its log could not be read: {err}")
        if line is not None:
            matched = _ERROR_LINE.fullmatch(line)
            assert matched is not None  # every line matches
            return TaskError(matched["name"] or UNKNOWN_ERROR, matched["message"])
    reason = next((c["Reason"] for c in containers if c.get("Reason")), None)
    status_reason = attempt.get("StatusReason") or detail.get("StatusReason")
    looked = f" (log stream {stream} holds nothing)" if stream else ""
    return TaskError(
        name,
        f"Unable to get error log, container likely never ran{looked}. "
        f"Container Reason: {reason}; Status Reason: {status_reason}",
    )


def _job_detail(cause: Any) -> dict[str, Any] | None:
    """The Batch job detail in a caught error's cause, or None if it holds none."""
    if isinstance(cause, str):
        try:
            cause = json.loads(cause)
        except ValueError:
            return None
    if isinstance(cause, dict) and ("Attempts" in cause or "Container" in cause):
        return cause
    return None


def last_log_line(stream: str, log_group: str | None = None) -> str | None:
    """The last non-blank line of a Batch job's log, or None when there is none.

    Args:
        stream: a CloudWatch log stream name, or (a local run) the URL of a kept log.
        log_group: the CloudWatch log group; default ``$CIRRUS_BATCH_LOG_GROUP``, else
            ``/aws/batch/job``.

    Raises:
        StorageError: the log exists but cannot be read.
        ConfigError: boto3 is not installed.
    """
    if "://" in stream:
        from cirrus.storage import read_bytes

        try:
            text = read_bytes(stream).decode("utf-8", errors="replace")
        except NotFound:
            return None
        return _last_line(text.splitlines())
    group = log_group or os.environ.get(BATCH_LOG_GROUP_ENV) or BATCH_LOG_GROUP
    try:
        import boto3
    except ImportError as err:
        raise ConfigError(
            "post-batch reads Batch logs from CloudWatch with boto3: pip install boto3 "
            "(cirrus's aws extra)"
        ) from err
    client = boto3.session.Session().client("logs")
    with _logs_errors(group, stream):
        try:
            response = client.get_log_events(
                logGroupName=group, logStreamName=stream, startFromHead=False, limit=_LAST_EVENTS
            )
        except client.exceptions.ResourceNotFoundException:
            return None  # no such stream: the container never logged
    return _last_line(str(event.get("message", "")) for event in response.get("events", []))


def _last_line(lines: Any) -> str | None:
    found = None
    for line in lines:
        if line.strip():
            found = line.strip()
    return found


@contextmanager
def _logs_errors(group: str, stream: str) -> Iterator[None]:
    """Turn botocore errors from CloudWatch Logs into :class:`StorageError`."""
    from botocore.exceptions import BotoCoreError, ClientError

    where = f"CloudWatch log stream {group}/{stream}"
    try:
        yield
    except ClientError as err:
        error = err.response.get("Error", {})
        raise StorageError(
            f"cannot read {where}: {error.get('Code', '')}: {error.get('Message', '')}; "
            "the function needs logs:GetLogEvents on the log group"
        ) from err
    except BotoCoreError as err:
        raise StorageError(f"cannot read {where}: {err}") from err
