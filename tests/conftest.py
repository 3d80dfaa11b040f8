"""Run-wide fixtures: no test ever reaches a real cloud.

Every test runs with the ``AWS_*`` variables cleared and replaced by dummy
credentials; tests of AWS services ask for ``aws`` (see ``tests/aws_server.py``),
the moto server started on 127.0.0.1 for the run.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

import pytest

from tests.aws_server import LocalAWS, aws, moto_server
from tests.subscriptions import topics

__all__ = ["aws", "moto_server", "topics"]  # fixtures for every test module


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--update-snapshots``: rewrite committed snapshots instead of comparing with them
    (and the dashboard screenshots of ``docs/img/``)."""
    parser.addoption(
        "--update-snapshots",
        action="store_true",
        default=False,
        help="rewrite the committed snapshots (tests/aws/build/snapshots/) and the dashboard "
        "screenshots (docs/img/) from this run",
    )


@pytest.fixture(autouse=True)
def _local_only_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Clear every AWS variable and set harmless credentials and region."""
    for name in list(os.environ):
        if name.startswith("AWS_") or name.startswith("CIRRUS_"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture(scope="session")
def moto_endpoint(moto_server: LocalAWS) -> str:
    """The endpoint URL of the run's moto server."""
    return moto_server.endpoint


@pytest.fixture
def s3_bucket(aws: LocalAWS) -> str:
    """A fresh bucket on the moto server; ``AWS_ENDPOINT_URL`` points at it."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    client: Any = aws.client("s3")
    client.create_bucket(Bucket=name)
    return name
