"""The local AWS fixture: every client points at moto, and nothing else is reachable."""

from __future__ import annotations

import os

import pytest
from botocore.exceptions import BotoCoreError

from tests.aws_server import LocalAWS


def test_clients_take_the_local_endpoint_from_the_environment(aws: LocalAWS) -> None:
    assert os.environ["AWS_ENDPOINT_URL"] == aws.endpoint
    for service in ("dynamodb", "sqs", "s3", "sns"):
        assert aws.client(service).meta.endpoint_url == aws.endpoint


@pytest.mark.parametrize(
    "endpoint", [None, "https://dynamodb.us-east-1.amazonaws.com"], ids=["default", "explicit"]
)
def test_a_request_to_real_aws_fails_loudly(
    aws: LocalAWS, monkeypatch: pytest.MonkeyPatch, endpoint: str | None
) -> None:
    import boto3

    monkeypatch.delenv("AWS_ENDPOINT_URL")
    client = boto3.session.Session().client("dynamodb", endpoint_url=endpoint)

    with pytest.raises(RuntimeError, match="may only use the moto server"):
        try:
            client.list_tables()
        except BotoCoreError as exc:  # pragma: no cover - the guard must come first
            pytest.fail(f"the request left the machine: {exc}")
