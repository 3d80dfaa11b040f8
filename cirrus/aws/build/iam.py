"""IAM roles of the stack: one per function, job and workflow, with inline statements.

Statements are plain dicts, so ``manifest.json`` can list them for teams that write their
own infrastructure code. Resources are named through CloudFormation (``!GetAtt``,
``!Sub``), never with ``*`` where a resource can be named.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from cirrus.aws.build.render import WorkflowReferences
from cirrus.aws.build.template import Template, arn, getatt, ref, sub

__all__ = [
    "BATCH_EVENTS_RULE",
    "POLICY_VERSION",
    "add_role",
    "bucket_statements",
    "log_statement",
    "state_table_statement",
    "statement",
    "workflow_statements",
]

POLICY_VERSION = "2012-10-17"
BATCH_EVENTS_RULE = "StepFunctionsGetEventsForBatchJobsRule"
"""The rule Step Functions manages for ``batch:submitJob.sync``; its role must be allowed it."""
_STATE_TABLE_ACTIONS = [
    "dynamodb:BatchGetItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:UpdateItem",
]
_LOG_DELIVERY_ACTIONS = [
    "logs:CreateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:DescribeLogGroups",
    "logs:DescribeResourcePolicies",
    "logs:GetLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:UpdateLogDelivery",
]


def statement(actions: Iterable[str], resources: Any, sid: str = "") -> dict[str, Any]:
    """An ``Allow`` statement; its ``Sid`` starts with ``Cirrus`` (users' own never clash)."""
    entry: dict[str, Any] = {}
    if sid:
        entry["Sid"] = f"Cirrus{sid}"
    entry["Effect"] = "Allow"
    entry["Action"] = sorted(actions)
    entry["Resource"] = resources
    return entry


def log_statement(log_group: str) -> dict[str, Any]:
    """Writing to the log group ``log_group`` (a logical id)."""
    return statement(
        ["logs:CreateLogStream", "logs:PutLogEvents"], [getatt(log_group)], "WriteLogs"
    )


def bucket_statements(buckets: Iterable[str], *, write: bool = True) -> list[dict[str, Any]]:
    """Reading (and writing) objects of the given buckets (logical ids), and listing them."""
    buckets = list(buckets)
    actions = ["s3:GetObject", "s3:PutObject"] if write else ["s3:GetObject"]
    objects = [sub(f"${{{bucket}.Arn}}/*") for bucket in buckets]
    return [
        statement(actions, objects, "Objects"),
        statement(["s3:ListBucket"], [getatt(bucket) for bucket in buckets], "ListBuckets"),
    ]


def state_table_statement(table: str) -> dict[str, Any]:
    """Reading and writing the state table ``table`` (a logical id) and its indexes."""
    return statement(
        _STATE_TABLE_ACTIONS, [getatt(table), sub(f"${{{table}.Arn}}/index/*")], "StateTable"
    )


def add_role(
    template: Template,
    name: str,
    service: str,
    statements: list[dict[str, Any]],
    *,
    managed: Iterable[str] = (),
) -> str:
    """Add the role ``name`` that ``service`` assumes, with ``statements`` inline.

    Args:
        template: the stack.
        name: the role's logical id.
        service: the principal, e.g. ``lambda.amazonaws.com``.
        statements: its permissions.
        managed: AWS managed policies to attach, by name after ``policy/``.
    """
    properties: dict[str, Any] = {
        "AssumeRolePolicyDocument": {
            "Version": POLICY_VERSION,
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
            ],
        },
    }
    managed = list(managed)
    if managed:
        properties["ManagedPolicyArns"] = [
            sub(f"arn:${{AWS::Partition}}:iam::aws:policy/{policy}") for policy in managed
        ]
    if statements:
        properties["Policies"] = [
            {
                "PolicyName": "cirrus",
                "PolicyDocument": {"Version": POLICY_VERSION, "Statement": statements},
            }
        ]
    return template.add(name, "AWS::IAM::Role", properties)


def workflow_statements(
    references: WorkflowReferences, job_definition_arns: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """A workflow role's permissions, from what its rendered definition references.

    Args:
        references: what the definition runs (:func:`~cirrus.aws.build.render.workflow_references`).
        job_definition_arns: for each job definition (logical id), its ARN without the
            revision, to which ``:*`` is added.
    """
    statements: list[dict[str, Any]] = []
    functions: list[Any] = []
    for function in references.functions:
        functions += [getatt(function), sub(f"${{{function}.Arn}}:*")]
    functions += list(references.function_arns)
    if functions:
        statements.append(statement(["lambda:InvokeFunction"], functions, "InvokeFunctions"))
    if references.batch:
        submit: list[Any] = [
            _job_definition(job_definition_arns[job]) for job in references.job_definitions
        ]
        submit += [_queue(queue) for queue in references.job_queues]
        if submit:
            statements.append(statement(["batch:SubmitJob"], submit, "SubmitJobs"))
        statements.append(statement(["batch:DescribeJobs", "batch:TerminateJob"], "*", "WatchJobs"))
        statements.append(
            statement(
                ["events:DescribeRule", "events:PutRule", "events:PutTargets"],
                [arn("events", f"rule/{BATCH_EVENTS_RULE}")],
                "SyncJobs",
            )
        )
    # CloudWatch Logs allows log delivery only on "*"
    statements.append(statement(_LOG_DELIVERY_ACTIONS, "*", "DeliverLogs"))
    return statements


def _job_definition(unversioned: Any) -> Any:
    """Every revision of a job definition: ``<arn without revision>:*``."""
    if isinstance(unversioned, dict) and set(unversioned) == {"Fn::Sub"}:
        return sub(f"{unversioned['Fn::Sub']}:*")
    return {"Fn::Join": ["", [unversioned, ":*"]]}  # pragma: no cover - every build gives Sub


def _queue(value: str) -> Any:
    """A job queue as the rendered definition names it: ``${Id}``, a name or an ARN."""
    if value.startswith("${") and value.endswith("}"):
        return ref(value[2:-1])
    if value.startswith("arn:"):
        return value
    return arn("batch", f"job-queue/{value}")
