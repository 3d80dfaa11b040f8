"""A local AWS for the tests: one moto server on 127.0.0.1 per run, and nothing else.

Ask for the ``aws`` fixture in a test (or fixture) that talks to AWS services::

    def test_queue(aws: LocalAWS) -> None:
        sqs = aws.client("sqs")          # endpoint from AWS_ENDPOINT_URL, as in production
        ...

For the whole run, ``moto_server`` starts ``ThreadedMotoServer`` on a free port,
clears every ``AWS_*`` variable, sets fake credentials, a region and
``AWS_ENDPOINT_URL``, and makes any botocore request to a host other than
127.0.0.1/localhost fail at once. ``aws`` sets the same variables again for each
test (the autouse fixture in ``tests/conftest.py`` clears ``AWS_*`` before every test).

moto 5.2's server handles requests in parallel threads, and its DynamoDB applies
an UpdateItem in steps (check the condition, insert a key-only item, apply the
update) with no lock: two racing conditional writes can both succeed, and a refused
one can return a half-written item. DynamoDB makes each write atomic, so the
fixture serialises moto's DynamoDB requests to behave the same.

moto's SQS ReceiveMessage likewise checks and marks a message visible-then-received
without a lock, so two racing receives could both get it. It is left as it is: a
standard SQS queue is at-least-once too, and cirrus relies on the state database's
claims, not on exclusive receives (30 rounds of 6 racing receivers here never got a
message twice). Two more differences the queue tests allow for: moto deletes a message
by any receipt it ever had (SQS: an old receipt "might" delete), and it forgets a FIFO
deduplication id once its message is deleted (SQS keeps it 5 minutes).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

__all__ = ["LocalAWS", "aws", "free_port", "moto_server", "serialised_dynamodb_dispatch"]

REGION = "us-east-1"
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost"})


class LocalAWS:
    """The moto server of the run.

    Attributes:
        endpoint: ``http://127.0.0.1:<port>``.
        port: the port it listens on.
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.endpoint = f"http://127.0.0.1:{port}"

    def environment(self) -> dict[str, str]:
        """The variables a process needs to use this server and nothing else."""
        return {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_ENDPOINT_URL": self.endpoint,
            "MOTO_PORT": str(self.port),  # moto's Step Functions calls other services here
        }

    def apply(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Clear every ``AWS_*`` variable and set :meth:`environment`."""
        for name in list(os.environ):
            if name.startswith("AWS_"):
                monkeypatch.delenv(name, raising=False)
        for name, value in self.environment().items():
            monkeypatch.setenv(name, value)

    def client(self, service: str) -> Any:
        """A boto3 client taking its endpoint from the environment, as cirrus's do."""
        import boto3

        return boto3.session.Session().client(service)

    def reset(self) -> None:
        """Drop every resource on the server (configuration stays)."""
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass


def free_port() -> int:
    """A TCP port nothing listens on yet."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _guard_endpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every botocore request to a non-local host raise instead of leaving the machine."""
    from botocore.httpsession import URLLib3Session

    send: Callable[[Any, Any], Any] = URLLib3Session.send

    def local_send(self: Any, request: Any) -> Any:
        host = urlsplit(request.url).hostname
        if host not in LOCAL_HOSTS:
            raise RuntimeError(
                f"a test tried to reach {request.url}: tests may only use the moto server "
                "on 127.0.0.1 (ask for the `aws` fixture, which sets AWS_ENDPOINT_URL)"
            )
        return send(self, request)

    monkeypatch.setattr(URLLib3Session, "send", local_send)


def serialised_dynamodb_dispatch() -> Callable[..., Any]:
    """A ``DynamoHandler._dispatch`` that handles one request at a time.

    Set it on ``moto.dynamodb.responses.DynamoHandler`` so conditional writes are
    atomic, as on DynamoDB (only DynamoDB: other services may call back into moto).
    """
    from moto.core.responses import BaseResponse

    lock = threading.Lock()
    dispatch = BaseResponse._dispatch

    def one_at_a_time(self: Any, *args: Any, **kwargs: Any) -> Any:
        with lock:
            return dispatch(self, *args, **kwargs)

    return one_at_a_time


@pytest.fixture(scope="session")
def moto_server() -> Iterator[LocalAWS]:
    """Start moto on 127.0.0.1 for the run, with local-only AWS settings."""
    from moto.server import ThreadedMotoServer

    server_aws = LocalAWS(free_port())
    with pytest.MonkeyPatch.context() as monkeypatch:
        server_aws.apply(monkeypatch)
        _guard_endpoints(monkeypatch)
        from moto.dynamodb.responses import DynamoHandler

        monkeypatch.setattr(DynamoHandler, "_dispatch", serialised_dynamodb_dispatch())
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one log line per request
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=server_aws.port, verbose=False)
        server.start()
        try:
            yield server_aws
        finally:
            server.stop()


@pytest.fixture
def aws(moto_server: LocalAWS, monkeypatch: pytest.MonkeyPatch) -> LocalAWS:
    """The run's moto server, with this test's environment pointing at it."""
    moto_server.apply(monkeypatch)
    return moto_server
