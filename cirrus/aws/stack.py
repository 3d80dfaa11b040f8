"""CloudFormation stacks: read one, wait for it with its events, say why it failed.

    >>> seen = event_ids(client, "demo")                  # events from before
    >>> client.update_stack(StackName="demo", ...)
    >>> stack, events = wait_for_stack(client, stack_id, seen=seen, progress=print)
    >>> if stack["StackStatus"] != "UPDATE_COMPLETE":
    ...     raise DeployError(failure_message(stack, events))

A stack that fails on AWS says why in its events (``CREATE_FAILED`` and a reason per
resource); :func:`failure_message` lists them. An emulator may instead refuse the
``CreateStack``/``UpdateStack`` request itself, with the refused resource's own error or an
HTTP 500 page and no event; :func:`server_failure` reads what it can from that answer and
names the resources that mention what was refused, else those being made or changed.
botocore's errors become cirrus errors in :func:`aws_errors`.
"""

from __future__ import annotations

import ast
import contextlib
import json
import re
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cirrus.errors import CirrusError, ConfigError

__all__ = [
    "DeployError",
    "Progress",
    "StackEvent",
    "aws_errors",
    "describe_stack",
    "event_ids",
    "failure_message",
    "is_server_failure",
    "ready_stack",
    "request_errors",
    "server_failure",
    "stack_resources",
    "stack_template",
    "wait_for_stack",
]

Progress = Callable[[str], None]
"""Called with one line for each step and each new stack event."""


class DeployError(CirrusError):
    """AWS refused a step of a deploy, or the stack ended in a failed status.

    Attributes:
        failures: the failed resources' events, oldest first (empty when AWS gave none).
    """

    def __init__(self, message: str, failures: list[StackEvent] | None = None) -> None:
        super().__init__(message)
        self.failures = failures or []


@dataclass(frozen=True)
class StackEvent:
    """One CloudFormation stack event.

    Attributes:
        logical_id: the resource's logical id (the stack's name for the stack itself).
        resource_type: e.g. ``AWS::SQS::Queue``.
        status: e.g. ``CREATE_FAILED``.
        reason: ``ResourceStatusReason`` (empty when there is none).
        timestamp: when it happened.
        event_id: CloudFormation's id of the event.
    """

    logical_id: str
    resource_type: str
    status: str
    reason: str = ""
    timestamp: datetime | None = None
    event_id: str = ""

    @classmethod
    def from_api(cls, event: Mapping[str, Any]) -> StackEvent:
        """An event as ``DescribeStackEvents`` returns it."""
        return cls(
            logical_id=str(event.get("LogicalResourceId", "")),
            resource_type=str(event.get("ResourceType", "")),
            status=str(event.get("ResourceStatus", "")),
            reason=str(event.get("ResourceStatusReason") or ""),
            timestamp=event.get("Timestamp"),
            event_id=str(event.get("EventId", "")),
        )

    @property
    def failed(self) -> bool:
        """Whether the resource failed (``CREATE_FAILED``, ``UPDATE_FAILED``, ...)."""
        return self.status.endswith("_FAILED")

    def format(self) -> str:
        """The event on one line: ``time status logical id (type): reason``."""
        when = self.timestamp.astimezone(UTC).strftime("%H:%M:%S") if self.timestamp else ""
        reason = f": {self.reason}" if self.reason else ""
        return f"{when} {self.status} {self.logical_id} ({self.resource_type}){reason}".strip()


@contextmanager
def aws_errors(what: str) -> Iterator[None]:
    """Turn botocore errors into cirrus errors saying what was being done and the fix."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
    )
    from botocore.parsers import ResponseParserError

    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code, message = error.get("Code", ""), error.get("Message", "")
        if code in ("AccessDenied", "AccessDeniedException", "UnrecognizedClientException"):
            raise ConfigError(
                f"AWS refused {what}: {message} (check the credentials and their permissions)"
            ) from exc
        raise DeployError(f"{what} failed: {code}: {message}") from exc
    except NoCredentialsError as exc:
        raise ConfigError(
            f"{what}: no AWS credentials (set AWS_PROFILE or AWS_ACCESS_KEY_ID)"
        ) from exc
    except NoRegionError as exc:
        raise ConfigError(
            f"{what}: no region: pass --region, give the deployment a `region:` in "
            "cirrus.yml, or set AWS_DEFAULT_REGION"
        ) from exc
    except EndpointConnectionError as exc:
        raise DeployError(f"{what}: cannot reach {exc.kwargs.get('endpoint_url')}") from exc
    except BotoCoreError as exc:
        raise DeployError(f"{what} failed: {exc}") from exc
    except ResponseParserError as exc:  # an endpoint failing with a page, not an AWS error
        raise DeployError(f"{what} failed: the endpoint did not answer as AWS does") from exc


def describe_stack(cloudformation: Any, name: str) -> dict[str, Any] | None:
    """The stack called ``name`` (or with that id), or None when there is none."""
    from botocore.exceptions import ClientError

    try:
        stacks = cloudformation.describe_stacks(StackName=name)["Stacks"]
    except ClientError as exc:
        if "does not exist" in str(exc.response.get("Error", {}).get("Message", "")):
            return None
        raise
    return dict(stacks[0]) if stacks else None


def event_ids(cloudformation: Any, stack: str) -> set[str]:
    """The ids of the stack's latest events (the first page is enough to mark "before")."""
    events = cloudformation.describe_stack_events(StackName=stack)["StackEvents"]
    return {str(event["EventId"]) for event in events}


def _new_events(cloudformation: Any, stack: str, seen: set[str]) -> list[StackEvent]:
    """Events not seen yet, oldest first; ``seen`` is updated."""
    found: list[StackEvent] = []
    token: str | None = None
    while True:
        arguments = {"StackName": stack, **({"NextToken": token} if token else {})}
        page = cloudformation.describe_stack_events(**arguments)
        reached_seen = False
        for event in page.get("StackEvents", []):
            if str(event["EventId"]) in seen:
                reached_seen = True
                break
            found.append(StackEvent.from_api(event))
        token = page.get("NextToken")
        if reached_seen or not token:
            break
    seen.update(event.event_id for event in found)
    return list(reversed(found))


def wait_for_stack(
    cloudformation: Any,
    stack_id: str,
    *,
    seen: set[str],
    progress: Progress,
    poll_seconds: float = 5.0,
    timeout_seconds: float = 3600.0,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[dict[str, Any], list[StackEvent]]:
    """Wait until the stack's status ends ``_COMPLETE`` or ``_FAILED``, reporting new events.

    Args:
        cloudformation: a CloudFormation client.
        stack_id: the stack's ARN (a deleted stack is found by its ARN only).
        seen: ids of events from before the operation; the events reported are added.
        progress: called with each new event, formatted.
        poll_seconds: pause between looks.
        timeout_seconds: give up after this long.
        sleep: how to pause (tests pass their own).

    Returns:
        The stack as ``DescribeStacks`` gives it, and every event of the operation.

    Raises:
        DeployError: the stack took longer than ``timeout_seconds``.
    """
    events: list[StackEvent] = []
    waited = 0.0
    while True:
        for event in _new_events(cloudformation, stack_id, seen):
            events.append(event)
            progress(event.format())
        stack = describe_stack(cloudformation, stack_id)
        if stack is None:  # only a name can stop resolving; an id keeps DELETE_COMPLETE
            return {"StackId": stack_id, "StackStatus": "DELETE_COMPLETE"}, events
        if not str(stack["StackStatus"]).endswith("_IN_PROGRESS"):
            for event in _new_events(cloudformation, stack_id, seen):
                events.append(event)
                progress(event.format())
            return stack, events
        if waited >= timeout_seconds:
            raise DeployError(
                f"stack {stack.get('StackName', stack_id)} is still {stack['StackStatus']} "
                f"after {timeout_seconds:.0f} s: follow it in the CloudFormation console"
            )
        sleep(poll_seconds)
        waited += poll_seconds


def failure_message(stack: Mapping[str, Any], events: list[StackEvent]) -> str:
    """What went wrong: the stack's status, then each failed resource and its reason."""
    name = stack.get("StackName") or stack.get("StackId")
    status = stack.get("StackStatus")
    lines = [f"stack {name} ended {status}"]
    if stack.get("StackStatusReason"):
        lines[0] += f": {stack['StackStatusReason']}"
    failed = [event for event in events if event.failed and event.logical_id != name]
    cancelled = [event for event in failed if "cancelled" in event.reason.lower()]
    # resources cancelled because another failed say nothing of their own; list them last
    for event in [e for e in failed if e not in cancelled] + cancelled:
        reason = event.reason or "no reason given"
        lines.append(f"  {event.logical_id} ({event.resource_type}) {event.status}: {reason}")
    if not failed:
        lines.append("  no resource reported a failure; see the stack's events")
    return "\n".join(lines)


def server_failure(
    cloudformation: Any,
    name: str,
    template: Mapping[str, Any],
    previous: Mapping[str, Any] | None,
    error: BaseException,
) -> DeployError:
    """The error for an endpoint that failed the request itself (no events to read).

    An emulator refusing a resource answers the ``CreateStack``/``UpdateStack`` request
    with the resource's own error (or an HTTP 500 page) and records no resource event.
    The resources are named instead: those whose properties hold a name the error
    mentions (``sg-0123...``), else those being made or changed (new or changed since
    ``previous``, the stack's template before) that the stack lacks.
    """
    resources: Mapping[str, Any] = template.get("Resources", {})
    before: Mapping[str, Any] = (previous or {}).get("Resources", {})
    changed = [logical for logical, value in resources.items() if before.get(logical) != value]
    text = _failure_text(error)
    named = _named_in(text, {logical: resources[logical] for logical in changed})
    if named:
        suspects, how = named, "the resources that name it"
    else:
        made = stack_resources(cloudformation, name)
        suspects = [logical for logical in changed if logical not in made] or changed
        how = "the resources it was making or changing"
    shown = suspects[:10]
    listed = ", ".join(f"{logical} ({resources[logical].get('Type')})" for logical in shown)
    more = f" and {len(suspects) - len(shown)} more" if len(suspects) > len(shown) else ""
    what = "making" if previous is None else "updating"
    left = _status(cloudformation, name)
    stuck = (
        f"; the endpoint left the stack {left}: delete it (`cirrus deploy --delete`), then "
        "deploy again"
        if left.endswith("_IN_PROGRESS")
        else ""
    )
    return DeployError(
        f"the CloudFormation endpoint refused {what} stack {name} ({text}) and recorded no "
        f"event saying which resource; {how}: {listed}{more}{stuck}"
    )


def _status(cloudformation: Any, name: str) -> str:
    """The stack's status, or an empty string when it cannot be read."""
    try:
        stack = describe_stack(cloudformation, name)
    except request_errors():
        return ""
    return str(stack["StackStatus"]) if stack else ""


_IDENTIFIER = re.compile(r"[A-Za-z0-9][\w.]*(?:[-:/][\w.]+)+")


def _named_in(message: str, resources: Mapping[str, Any]) -> list[str]:
    """Resources whose definition holds an identifier (``sg-0abc``, an ARN) of ``message``."""
    tokens = {token for token in _IDENTIFIER.findall(message) if len(token) >= 6}
    found = []
    for logical, resource in resources.items():
        text = json.dumps(resource)
        if any(token in text for token in tokens):
            found.append(logical)
    return found


def request_errors() -> tuple[type[Exception], ...]:
    """What a failed request raises: botocore's errors, and its parser's on a non-AWS page."""
    from botocore.exceptions import BotoCoreError, ClientError
    from botocore.parsers import ResponseParserError

    return (BotoCoreError, ClientError, ResponseParserError)


def stack_resources(cloudformation: Any, name: str) -> dict[str, str]:
    """Physical ids of the stack's resources by logical id (empty when they cannot be read:
    no stack, or an endpoint failing on a stack it broke)."""
    try:
        return {
            str(summary["LogicalResourceId"]): str(summary.get("PhysicalResourceId", ""))
            for page in cloudformation.get_paginator("list_stack_resources").paginate(
                StackName=name
            )
            for summary in page["StackResourceSummaries"]
        }
    except request_errors():
        return {}


def _failure_text(error: BaseException) -> str:
    """A failed request's error in a few words (not the HTML page an emulator sends)."""
    from botocore.exceptions import ClientError

    if isinstance(error, ClientError):
        found = error.response.get("Error", {})
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "")
        return f"HTTP {status} {found.get('Code', '')}: {found.get('Message', '')}".strip(": ")
    # botocore's ResponseParserError: "... invalid XML received ...:\nb'<body>'"
    body = str(error).rpartition("may succeed:")[2].strip()
    with contextlib.suppress(ValueError, SyntaxError):
        literal = ast.literal_eval(body)
        body = literal.decode(errors="replace") if isinstance(literal, bytes) else str(literal)
    with contextlib.suppress(ValueError):
        data = json.loads(body)  # a service's JSON error passed through as it is
        if isinstance(data, dict):
            code = data.get("__type") or data.get("code") or data.get("Code") or "error"
            message = data.get("message") or data.get("Message") or ""
            return f"{str(code).rpartition('#')[2]}: {message}"
    title = re.search(r"<title>(.*?)</title>", body, re.IGNORECASE | re.DOTALL)
    if title:
        return f"an error page: {title[1].strip()}"
    return "an answer that is not an AWS error"


def is_server_failure(error: BaseException) -> bool:
    """Whether the endpoint failed the request itself (HTTP 5xx, or no valid answer)."""
    from botocore.exceptions import ClientError
    from botocore.parsers import ResponseParserError

    if isinstance(error, ResponseParserError):
        return True
    if isinstance(error, ClientError):
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return int(status) >= 500
    return False


def ready_stack(
    cloudformation: Any, name: str, report: Progress, poll_seconds: float, timeout: float
) -> dict[str, Any] | None:
    """The stack to update, or None to create one (a failed first create is deleted)."""
    stack = describe_stack(cloudformation, name)
    if stack is None:
        return None
    status = str(stack["StackStatus"])
    if status.endswith("_IN_PROGRESS"):
        raise DeployError(
            f"stack {name} is busy ({status}): wait for it to finish, then deploy again"
        )
    if status == "ROLLBACK_COMPLETE":  # a failed first create: CloudFormation only deletes it
        report(f"stack {name} never got made (ROLLBACK_COMPLETE): deleting it to start again")
        seen = event_ids(cloudformation, name)
        cloudformation.delete_stack(StackName=stack["StackId"])
        final, events = wait_for_stack(
            cloudformation,
            str(stack["StackId"]),
            seen=seen,
            progress=report,
            poll_seconds=poll_seconds,
            timeout_seconds=timeout,
        )
        if final.get("StackStatus") != "DELETE_COMPLETE":
            raise DeployError(failure_message(final, events), [e for e in events if e.failed])
        return None
    if status.endswith("_FAILED"):
        raise DeployError(
            f"stack {name} is {status}: CloudFormation cannot update it; fix it in the console "
            "(continue the rollback, or delete it with `cirrus deploy --delete`)"
        )
    return stack


def stack_template(cloudformation: Any, name: str) -> dict[str, Any] | None:
    """The stack's current template, as data."""
    body = cloudformation.get_template(StackName=name).get("TemplateBody")
    if isinstance(body, str):
        try:
            loaded = json.loads(body)
        except ValueError:
            return None  # a YAML template made elsewhere: nothing to compare with
        return loaded if isinstance(loaded, dict) else None
    return dict(body) if isinstance(body, Mapping) else None
