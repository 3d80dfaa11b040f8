"""What cirrus's AWS clients share: botocore errors turned into cirrus errors, request counts.

Each client module (``cirrus.queue._sqs_client``, ``cirrus.state._dynamodb_client``,
``cirrus.runtime.sns``) describes its service once, as an :class:`AWSService`, and turns
the error codes it knows into its own errors; :func:`aws_errors` does the rest::

    SQS = AWSService("SQS", "queue", StateError, "AWS_ENDPOINT_URL_SQS", region_fix="...")

    def sqs_errors(queue: str, operation: str) -> AbstractContextManager[None]:
        return aws_errors(SQS, queue, operation, _sqs_refusal)   # Refusal -> exception

A request the service refused (botocore's ``ClientError``) reaches the client's function as
a :class:`Refusal`, whose methods word the common cases (throttled, denied, anything else)
alike for every service. Missing credentials, a missing region, an unreachable endpoint and
any other botocore error are worded here. :class:`RequestCounts` is the thread-safe base of
the clients' request counters (``SQSOps``, ``DynamoDBOps``, ``SNSOps``).

botocore is imported inside :func:`aws_errors` only: importing it costs startup time that
local users, who never touch AWS, should not pay.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

from cirrus.errors import CirrusError, ConfigError

__all__ = [
    "DENIED",
    "QUERY_DENIED",
    "THROTTLED",
    "AWSService",
    "Refusal",
    "RequestCounts",
    "aws_errors",
    "method_name",
]

DENIED = frozenset({"AccessDeniedException", "UnrecognizedClientException"})
"""Codes of refused credentials or permissions, as every JSON-protocol service spells them."""
QUERY_DENIED = DENIED | {"AccessDenied", "InvalidClientTokenId", "InvalidSecurity"}
"""The same, with the spellings of services that began on the query protocol (SNS, SQS)."""
THROTTLED = frozenset({"ThrottlingException"})
"""The throttling code every service may answer (each service adds its own)."""


@dataclass(frozen=True, slots=True)
class AWSService:
    """An AWS service as cirrus's error messages name it.

    Attributes:
        name: the service's name (``SQS``).
        kind: what its requests are about (``queue``).
        error: the cirrus error a failed request raises.
        endpoint_variable: the variable that sets the service's own endpoint
            (``AWS_ENDPOINT_URL_SQS``).
        region_fix: how to give a region, for the message when there is none.
    """

    name: str
    kind: str
    error: type[CirrusError]
    endpoint_variable: str
    region_fix: str


@dataclass(frozen=True, slots=True)
class Refusal:
    """A request the service answered with an error (botocore's ``ClientError``).

    Attributes:
        operation: the API operation refused.
        where: what the request was about, for messages (``SQS queue 'work'``).
        code: the error's ``Code``.
        message: the error's ``Message``.
        response: botocore's whole parsed response.
    """

    operation: str
    where: str
    code: str
    message: str
    response: dict[str, Any]

    def throttled(self, *, name_code: bool = True) -> str:
        """The message for a request still throttled after botocore's retries."""
        code = f" ({self.code})" if name_code else ""
        return (
            f"{self.operation} on {self.where} was throttled{code} after retries: "
            "retry later, or raise AWS_MAX_ATTEMPTS"
        )

    def denied(self, grant: str) -> str:
        """The message for refused credentials or permissions (``grant``: what to grant)."""
        return (
            f"{self.operation} on {self.where} was refused ({self.code}: {self.message}): "
            f"grant {grant}, or check the credentials"
        )

    def failed(self, code: str | None = None) -> str:
        """The message for any other refusal (``code``: the code to name, if not ``Code``)."""
        named = self.code if code is None else code
        return f"{self.operation} on {self.where} failed: {named}: {self.message}"


@contextmanager
def aws_errors(
    service: AWSService,
    resource: str,
    operation: str,
    refusal_error: Callable[[Refusal], Exception],
) -> Iterator[None]:
    """Turn botocore errors into cirrus errors naming the resource and the fix.

    Args:
        service: the service the request goes to.
        resource: the topic, queue or table, as configured.
        operation: the API operation, for messages.
        refusal_error: the service's error for a request it refused.

    Raises:
        ConfigError: no AWS region is configured.
        CirrusError: ``refusal_error``'s error for a refusal, else ``service.error``.
    """
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
    )

    where = f"{service.name} {service.kind} {resource!r}"
    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code, message = error.get("Code", ""), error.get("Message", "")
        raise refusal_error(Refusal(operation, where, code, message, exc.response)) from exc
    except NoCredentialsError as exc:
        raise service.error(
            f"no AWS credentials for {where}: set AWS_PROFILE or "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
        ) from exc
    except NoRegionError as exc:
        raise ConfigError(f"no AWS region for {where}: {service.region_fix}") from exc
    except EndpointConnectionError as exc:
        raise service.error(
            f"cannot reach {service.name} for {service.kind} {resource!r} ({exc}): check the "
            f"network and AWS_ENDPOINT_URL / {service.endpoint_variable}"
        ) from exc
    except BotoCoreError as exc:
        raise service.error(f"{operation} on {where} failed: {exc}") from exc


class RequestCounts:
    """Requests sent to a service, by operation name, and the service's own counts.

    A subclass names its counts (integers, zero at first and after :meth:`reset`) in
    ``COUNTS``, in the order :meth:`snapshot` lists them, and changes them under
    ``self._lock``. Thread-safe.
    """

    COUNTS: ClassVar[tuple[str, ...]] = ()

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: Counter[str] = Counter()
        self._zero()

    def snapshot(self) -> dict[str, Any]:
        """The counts as a plain dict."""
        with self._lock:
            counts = {name: getattr(self, name) for name in self.COUNTS}
            return {"requests": dict(sorted(self.requests.items())), **self._totals(), **counts}

    def reset(self) -> None:
        """Start counting from zero."""
        with self._lock:
            self.requests.clear()
            self._zero()

    def _totals(self) -> dict[str, int]:
        """Figures made from ``requests``, listed after them (called holding the lock)."""
        return {}

    def _zero(self) -> None:
        for name in self.COUNTS:
            setattr(self, name, 0)


def method_name(operation: str) -> str:
    """The boto3 client method for an API operation (``SendMessage``: ``send_message``)."""
    return "".join("_" + c.lower() if c.isupper() else c for c in operation).lstrip("_")
