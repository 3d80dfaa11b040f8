"""The pipeline's own resources: what every deployment holds, whatever its tasks.

========================  ==================================================================
logical id                what
========================  ==================================================================
PayloadBucket             payloads; ``<root prefix>/tmp/`` expires after 10 days
DataBucket                output assets and items
StateTable                ``<prefix>-state``, upstream Cirrus's key schema and indexes
ProcessQueue              ``<prefix>-process``: 180 s visibility, 5 receives, then the DLQ
ProcessDeadLetterQueue    ``<prefix>-process-dlq`` (14 days)
UpdateStateDeadLetterQueue  ``<prefix>-update-state-dlq``: events update-state never took
PublishTopic              ``<prefix>-publish``: published items
WorkflowEventTopic        ``<prefix>-workflow-event``: workflow events
WorkflowLogGroup          the state machines' log group (errors)
ProcessFunction           ``<prefix>-process`` on the process queue (batches of 10)
UpdateStateFunction       ``<prefix>-update-state`` on UpdateStateRule
UpdateStateRule           status changes of the ``<prefix>-*`` state machines
DeploymentParameter       ``/cirrus/deployments/<prefix>``, and one parameter per setting
                          under ``/deployment/<prefix>/``, for ``cirrus mgmt``
========================  ==================================================================
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cirrus.aws.build.functions import (
    ARTIFACT_BUCKET,
    PROCESS_HANDLER,
    UPDATE_STATE_HANDLER,
    Code,
    add_function,
)
from cirrus.aws.build.iam import bucket_statements, state_table_statement, statement
from cirrus.aws.build.template import Template, arn, getatt, logical_id, ref
from cirrus.project.deployments import DeploymentSettings
from cirrus.state.dynamodb import table_definition

__all__ = [
    "DATA_BUCKET",
    "DEFAULT_MEMORY",
    "DEFAULT_TIMEOUTS",
    "PAYLOAD_BUCKET",
    "PROCESS_QUEUE",
    "StackInputs",
    "add_discovery",
    "add_pipeline",
    "base_environment",
    "deployment_settings",
]

PAYLOAD_BUCKET = "PayloadBucket"
DATA_BUCKET = "DataBucket"
STATE_TABLE = "StateTable"
PROCESS_QUEUE = "ProcessQueue"
PROCESS_DLQ = "ProcessDeadLetterQueue"
UPDATE_STATE_DLQ = "UpdateStateDeadLetterQueue"
PUBLISH_TOPIC = "PublishTopic"
WORKFLOW_EVENT_TOPIC = "WorkflowEventTopic"
WORKFLOW_LOG_GROUP = "WorkflowLogGroup"
PROCESS_FUNCTION = "ProcessFunction"
UPDATE_STATE_FUNCTION = "UpdateStateFunction"
UPDATE_STATE_RULE = "UpdateStateRule"

PROCESS_VISIBILITY = 180
PROCESS_MAX_RECEIVES = 5
PROCESS_BATCH_SIZE = 10
DLQ_RETENTION = 14 * 24 * 3600
TMP_EXPIRY_DAYS = 10
EVENT_MAX_AGE = 1800
FINAL_STATUSES = ["SUCCEEDED", "FAILED", "ABORTED", "TIMED_OUT"]
DEFAULT_MEMORY = {"process": 256, "update-state": 256, "pre-batch": 256, "post-batch": 256}
"""MB of the built-in functions (upstream's 256 MB)."""
DEFAULT_TIMEOUTS = {"process": 15, "update-state": 60, "pre-batch": 15, "post-batch": 30}
"""Seconds: process as upstream (shorter than its 120 s claims); update-state publishes every
item and may read large payloads from S3; post-batch reads the job's log."""


@dataclass(frozen=True)
class StackInputs:
    """What every part of the stack needs to know.

    Attributes:
        project: the project's name.
        deployment: the deployment's settings.
        code_key: the code zip's key in the artifact bucket.
        layer: whether the dependency layer is built and attached.
        root: the project folder (files in messages are shown relative to it).
        environment: the project's variables for every task (``environment`` in
            ``cirrus.yml``), under each task's own.
    """

    project: str
    deployment: DeploymentSettings
    code_key: str
    layer: bool
    root: Path | None = None
    environment: Mapping[str, str] = field(default_factory=dict)

    @property
    def prefix(self) -> str:
        """The deployment's resource-name prefix."""
        return self.deployment.prefix

    def memory(self, function: str, default: int) -> int:
        """MB of ``function``: the deployment's setting, else ``default``."""
        return self.deployment.memory.get(function, default)

    def timeout(self, function: str, default: int) -> int:
        """Seconds of ``function``: the deployment's setting, else ``default``."""
        return self.deployment.timeout.get(function, default)

    def code(self, handler: str) -> Code:
        """Code from the zip, running ``handler``."""
        return Code(key=self.code_key, handler=handler, layer=self.layer)


def base_workflow_arn(prefix: str) -> dict[str, Any]:
    """``arn:...:stateMachine:<prefix>-``: a workflow's state machine ARN less its name."""
    return arn("states", f"stateMachine:{prefix}-")


def base_environment(deployment: DeploymentSettings) -> dict[str, Any]:
    """What every function reads: log level and where payloads are."""
    environment: dict[str, Any] = {
        "CIRRUS_LOG_LEVEL": deployment.log_level,
        "CIRRUS_PAYLOAD_BUCKET": ref(PAYLOAD_BUCKET),
        "CIRRUS_PAYLOAD_ROOT_PREFIX": deployment.payload_root_prefix,
    }
    return environment


def deployment_settings(deployment: DeploymentSettings) -> dict[str, Any]:
    """Every ``CIRRUS_*`` setting of the deployment (what update-state reads, and more)."""
    return {
        **base_environment(deployment),
        "CIRRUS_DATA_BUCKET": ref(DATA_BUCKET),
        "CIRRUS_STATE_DB": ref(STATE_TABLE),
        "CIRRUS_WORKFLOW_EVENT_TOPIC_ARN": ref(WORKFLOW_EVENT_TOPIC),
        "CIRRUS_BASE_WORKFLOW_ARN": base_workflow_arn(deployment.prefix),
        "CIRRUS_WORKFLOW_LOG_GROUP": ref(WORKFLOW_LOG_GROUP),
        "CIRRUS_PUBLISH_TOPIC_ARN": ref(PUBLISH_TOPIC),
        "CIRRUS_PROCESS_QUEUE_URL": ref(PROCESS_QUEUE),
        "CIRRUS_PREFIX": deployment.prefix,
    }


def add_pipeline(template: Template, inputs: StackInputs) -> None:
    """Add the buckets, table, queues, topics and the process and update-state functions."""
    deployment = inputs.deployment
    prefix = inputs.prefix
    template.add_section(
        "Parameters",
        ARTIFACT_BUCKET,
        {
            "Type": "String",
            "Description": "The bucket the build's zips were uploaded to (by `cirrus deploy`)",
        },
        "cirrus",
    )
    _storage(template, deployment)
    _queues_and_topics(template, prefix, deployment.log_retention_days)
    settings = deployment_settings(deployment)
    shared = [
        state_table_statement(STATE_TABLE),
        statement(
            ["states:DescribeExecution", "states:GetExecutionHistory"],
            [arn("states", f"execution:{prefix}-*:*")],
            "ReadExecutions",
        ),
    ]
    process_environment = {
        key: value for key, value in settings.items() if key != "CIRRUS_PUBLISH_TOPIC_ARN"
    }
    add_function(
        template,
        PROCESS_FUNCTION,
        name=f"{prefix}-process",
        description="cirrus: claims submitted payloads and starts their workflows",
        code=inputs.code(PROCESS_HANDLER),
        memory=inputs.memory("process", DEFAULT_MEMORY["process"]),
        timeout=inputs.timeout("process", DEFAULT_TIMEOUTS["process"]),
        environment=process_environment,
        statements=[
            *shared,
            *bucket_statements([PAYLOAD_BUCKET]),
            statement(
                [
                    "sqs:ChangeMessageVisibility",
                    "sqs:DeleteMessage",
                    "sqs:GetQueueAttributes",
                    "sqs:ReceiveMessage",
                    "sqs:SendMessage",
                ],
                [getatt(PROCESS_QUEUE)],
                "ProcessQueue",
            ),
            statement(
                ["states:StartExecution"],
                [arn("states", f"stateMachine:{prefix}-*")],
                "StartExecutions",
            ),
            statement(["sns:Publish"], [ref(WORKFLOW_EVENT_TOPIC)], "Announce"),
        ],
        retention=deployment.log_retention_days,
        reserved_concurrency=deployment.process_concurrency,
    )
    template.add(
        "ProcessEventSourceMapping",
        "AWS::Lambda::EventSourceMapping",
        {
            "EventSourceArn": getatt(PROCESS_QUEUE),
            "FunctionName": ref(PROCESS_FUNCTION),
            "BatchSize": PROCESS_BATCH_SIZE,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
        },
    )
    add_function(
        template,
        UPDATE_STATE_FUNCTION,
        name=f"{prefix}-update-state",
        description="cirrus: records finished executions and starts the next workflows",
        code=inputs.code(UPDATE_STATE_HANDLER),
        memory=inputs.memory("update-state", DEFAULT_MEMORY["update-state"]),
        timeout=inputs.timeout("update-state", DEFAULT_TIMEOUTS["update-state"]),
        environment=settings,
        statements=[
            *shared,
            *bucket_statements([PAYLOAD_BUCKET, DATA_BUCKET]),
            statement(
                ["sqs:GetQueueAttributes", "sqs:SendMessage"], [getatt(PROCESS_QUEUE)], "Chain"
            ),
            statement(["sns:Publish"], [ref(PUBLISH_TOPIC), ref(WORKFLOW_EVENT_TOPIC)], "Announce"),
        ],
        retention=deployment.log_retention_days,
    )
    _update_state_wiring(template, prefix)


def _storage(template: Template, deployment: DeploymentSettings) -> None:
    private = {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    root = deployment.payload_root_prefix
    template.add(
        PAYLOAD_BUCKET,
        "AWS::S3::Bucket",
        {
            "PublicAccessBlockConfiguration": private,
            "LifecycleConfiguration": {
                "Rules": [
                    {
                        "Id": "expire-tmp",
                        "Status": "Enabled",
                        "Prefix": f"{root}/tmp/" if root else "tmp/",  # noqa: S108 - an S3 key
                        "ExpirationInDays": TMP_EXPIRY_DAYS,
                    }
                ]
            },
        },
    )
    template.add(DATA_BUCKET, "AWS::S3::Bucket", {"PublicAccessBlockConfiguration": private})
    template.add(
        STATE_TABLE, "AWS::DynamoDB::Table", table_definition(f"{deployment.prefix}-state")
    )


def _queues_and_topics(template: Template, prefix: str, retention: int) -> None:
    template.add(
        PROCESS_DLQ,
        "AWS::SQS::Queue",
        {"QueueName": f"{prefix}-process-dlq", "MessageRetentionPeriod": DLQ_RETENTION},
    )
    template.add(
        PROCESS_QUEUE,
        "AWS::SQS::Queue",
        {
            "QueueName": f"{prefix}-process",
            "VisibilityTimeout": PROCESS_VISIBILITY,
            "RedrivePolicy": {
                "deadLetterTargetArn": getatt(PROCESS_DLQ),
                "maxReceiveCount": PROCESS_MAX_RECEIVES,
            },
        },
    )
    template.add(
        UPDATE_STATE_DLQ,
        "AWS::SQS::Queue",
        {"QueueName": f"{prefix}-update-state-dlq", "MessageRetentionPeriod": DLQ_RETENTION},
    )
    template.add(PUBLISH_TOPIC, "AWS::SNS::Topic", {"TopicName": f"{prefix}-publish"})
    template.add(WORKFLOW_EVENT_TOPIC, "AWS::SNS::Topic", {"TopicName": f"{prefix}-workflow-event"})
    template.add(
        WORKFLOW_LOG_GROUP,
        "AWS::Logs::LogGroup",
        {"LogGroupName": f"/aws/vendedlogs/states/{prefix}", "RetentionInDays": retention},
    )


def _update_state_wiring(template: Template, prefix: str) -> None:
    template.add(
        UPDATE_STATE_RULE,
        "AWS::Events::Rule",
        {
            "Name": f"{prefix}-update-state",
            "Description": f"Status changes of the {prefix}-* state machines, to update-state",
            "State": "ENABLED",
            "EventPattern": {
                "source": ["aws.states"],
                "detail-type": ["Step Functions Execution Status Change"],
                "detail": {
                    "status": FINAL_STATUSES,
                    "stateMachineArn": [{"prefix": base_workflow_arn(prefix)}],
                },
            },
            "Targets": [
                {
                    "Id": "update-state",
                    "Arn": getatt(UPDATE_STATE_FUNCTION),
                    "DeadLetterConfig": {"Arn": getatt(UPDATE_STATE_DLQ)},
                    "RetryPolicy": {"MaximumEventAgeInSeconds": EVENT_MAX_AGE},
                }
            ],
        },
    )
    template.add(
        "UpdateStatePermission",
        "AWS::Lambda::Permission",
        {
            "Action": "lambda:InvokeFunction",
            "FunctionName": ref(UPDATE_STATE_FUNCTION),
            "Principal": "events.amazonaws.com",
            "SourceArn": getatt(UPDATE_STATE_RULE),
        },
    )
    template.add(
        "UpdateStateDeadLetterQueuePolicy",
        "AWS::SQS::QueuePolicy",
        {
            "Queues": [ref(UPDATE_STATE_DLQ)],
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "events.amazonaws.com"},
                        "Action": "sqs:SendMessage",
                        "Resource": getatt(UPDATE_STATE_DLQ),
                        "Condition": {"ArnEquals": {"aws:SourceArn": getatt(UPDATE_STATE_RULE)}},
                    }
                ],
            },
        },
    )


def add_discovery(template: Template, deployment: DeploymentSettings) -> dict[str, Any]:
    """Add the SSM parameters ``cirrus mgmt`` finds the deployment by.

    ``/cirrus/deployments/<prefix>`` holds ``{"type": "parameter_store", "value":
    "/deployment/<prefix>/"}``, and each ``CIRRUS_*`` setting is a parameter under that path.

    Returns:
        The settings, by variable name.
    """
    prefix = deployment.prefix
    path = f"/deployment/{prefix}/"
    template.add(
        "DeploymentParameter",
        "AWS::SSM::Parameter",
        {
            "Name": f"/cirrus/deployments/{prefix}",
            "Type": "String",
            "Value": json.dumps({"type": "parameter_store", "value": path}),
            "Description": f"cirrus deployment {deployment.name} of this stack",
        },
    )
    settings = deployment_settings(deployment)
    for variable, value in settings.items():
        if value == "":
            continue  # SSM keeps no empty values; an absent setting means the same
        template.add(
            logical_id(variable.lower(), "Parameter"),
            "AWS::SSM::Parameter",
            {"Name": f"{path}{variable}", "Type": "String", "Value": value},
        )
    for output, value in (
        ("PayloadBucketName", ref(PAYLOAD_BUCKET)),
        ("DataBucketName", ref(DATA_BUCKET)),
        ("StateTableName", ref(STATE_TABLE)),
        ("ProcessQueueUrl", ref(PROCESS_QUEUE)),
        ("PublishTopicArn", ref(PUBLISH_TOPIC)),
        ("WorkflowEventTopicArn", ref(WORKFLOW_EVENT_TOPIC)),
    ):
        template.output(output, value)
    return settings
