"""A deployment on the local moto server, and events shaped as AWS sends them.

``deployment`` makes what a deployed stack holds for the ``process`` and ``update-state``
functions: the state table, the payload and data buckets, a state machine per workflow,
and the ``CIRRUS_*`` environment pointing at them. The events helpers build SQS batches
(raw payloads, SNS-in-SQS envelopes) and EventBridge status changes, field for field.
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from cirrus.aws.environment import AwsSettings, settings_from_environment
from cirrus.state.dynamodb import create_table
from tests.aws_server import LocalAWS

ACCOUNT = "123456789012"
REGION = "us-east-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/cirrus-test-workflow"
_names = itertools.count(1)

PASS_WORKFLOW = {"StartAt": "done", "States": {"done": {"Type": "Succeed"}}}


@dataclass
class Deployment:
    """What a test deployment holds, and its functions' environment."""

    aws: LocalAWS
    prefix: str
    table: str
    payload_bucket: str
    data_bucket: str
    environment: dict[str, str] = field(default_factory=dict)

    @property
    def base_workflow_arn(self) -> str:
        return f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{self.prefix}-"

    def settings(self, **extra: str) -> AwsSettings:
        return settings_from_environment({**self.environment, **extra})

    def add_workflow(self, name: str, definition: Mapping[str, Any] = PASS_WORKFLOW) -> str:
        """Create the state machine ``<prefix>-<name>``; returns its ARN."""
        response = self.aws.client("stepfunctions").create_state_machine(
            name=f"{self.prefix}-{name}", definition=json.dumps(definition), roleArn=ROLE
        )
        return str(response["stateMachineArn"])

    def executions(self, workflow: str) -> list[dict[str, Any]]:
        """The executions of a workflow's state machine."""
        client = self.aws.client("stepfunctions")
        arn = f"{self.base_workflow_arn}{workflow}"
        return list(client.list_executions(stateMachineArn=arn)["executions"])

    def object(self, key: str) -> Any:
        """A JSON object under the payload root."""
        body = self.aws.client("s3").get_object(Bucket=self.payload_bucket, Key=f"cirrus/{key}")
        return json.loads(body["Body"].read())

    def keys(self, prefix: str = "") -> list[str]:
        """Keys under the payload root (without the root prefix)."""
        listed = self.aws.client("s3").list_objects_v2(
            Bucket=self.payload_bucket, Prefix=f"cirrus/{prefix}"
        )
        return [item["Key"].removeprefix("cirrus/") for item in listed.get("Contents", [])]


@pytest.fixture
def deployment(aws: LocalAWS) -> Deployment:
    """A fresh deployment on the moto server: table, buckets, environment."""
    return fresh_deployment(aws)


def fresh_deployment(aws: LocalAWS) -> Deployment:
    """A new deployment on the moto server: table, buckets, environment."""
    number = next(_names)
    prefix = f"test{number}-{uuid.uuid4().hex[:6]}"
    found = Deployment(aws, prefix, f"{prefix}-state", f"{prefix}-payloads", f"{prefix}-data")
    create_table(found.table, client=aws.client("dynamodb"))
    s3 = aws.client("s3")
    for bucket in (found.payload_bucket, found.data_bucket):
        s3.create_bucket(Bucket=bucket)
    found.environment = {
        "CIRRUS_STATE_DB": found.table,
        "CIRRUS_PAYLOAD_BUCKET": found.payload_bucket,
        "CIRRUS_DATA_BUCKET": found.data_bucket,
        "CIRRUS_BASE_WORKFLOW_ARN": found.base_workflow_arn,
    }
    return found


def payload(
    item: str, workflow: str = "w", collection: str = "c", **process: Any
) -> dict[str, Any]:
    """A payload of one item."""
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": item,
                "collection": collection,
                "properties": {"datetime": "2024-05-01T00:00:00Z"},
                "geometry": None,
                "links": [],
                "assets": {},
            }
        ],
        "process": [{"workflow": workflow, **process}],
    }


def sqs_record(body: str, *, receive_count: int = 1) -> dict[str, Any]:
    """One record of an SQS event, as Lambda delivers it."""
    message_id = str(uuid.uuid4())
    return {
        "messageId": message_id,
        "receiptHandle": f"receipt-{message_id}",
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": str(receive_count),
            "SentTimestamp": "1714521600000",
            "SenderId": "AIDAEXAMPLE",
            "ApproximateFirstReceiveTimestamp": "1714521600500",
        },
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:cirrus-process",
        "awsRegion": REGION,
    }


def sns_envelope(message: str, topic: str = "cirrus-process") -> str:
    """An SNS notification as an SQS subscription without raw delivery receives it."""
    return json.dumps(
        {
            "Type": "Notification",
            "MessageId": str(uuid.uuid4()),
            "TopicArn": f"arn:aws:sns:{REGION}:{ACCOUNT}:{topic}",
            "Message": message,
            "Timestamp": "2024-05-01T00:00:00.000Z",
            "SignatureVersion": "1",
            "Signature": "EXAMPLE",
            "SigningCertURL": "https://sns.example/cert.pem",
            "UnsubscribeURL": "https://sns.example/unsubscribe",
        }
    )


def sqs_event(*bodies: str) -> dict[str, Any]:
    """An SQS batch event."""
    return {"Records": [sqs_record(body) for body in bodies]}


def status_change(
    execution: dict[str, Any],
    status: str,
    *,
    output: Any = None,
    error: str | None = None,
    cause: str | None = None,
    included: bool = True,
) -> dict[str, Any]:
    """An EventBridge "Step Functions Execution Status Change" event for ``execution``.

    ``execution`` is a ``DescribeExecution`` response.
    """
    arn = execution["executionArn"]
    detail: dict[str, Any] = {
        "executionArn": arn,
        "stateMachineArn": execution["stateMachineArn"],
        "name": execution["name"],
        "status": status,
        "startDate": 1714521600000,
        "stopDate": 1714521660000,
        "input": execution["input"] if included else None,
        "output": (json.dumps(output) if output is not None else None) if included else None,
        "inputDetails": {"included": included},
        "outputDetails": {"included": included},
        "error": error,
        "cause": cause,
    }
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Step Functions Execution Status Change",
        "source": "aws.states",
        "account": ACCOUNT,
        "time": "2024-05-01T00:01:00Z",
        "region": REGION,
        "resources": [arn],
        "detail": detail,
    }
