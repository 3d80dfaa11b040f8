"""Lambda functions of the stack: each with its own role and log group.

A function runs from the code zip (``Handler``, the dependency layer) or from a container
image (``lambda.image`` of a task). Its log group ``/aws/lambda/<name>`` is made by the stack,
with the deployment's retention, before the function can write to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cirrus.aws.build.iam import add_role, log_statement
from cirrus.aws.build.template import Template, getatt, ref

__all__ = [
    "ARTIFACT_BUCKET",
    "LAYER",
    "PROCESS_HANDLER",
    "RUNTIME",
    "TASK_HANDLER",
    "UPDATE_STATE_HANDLER",
    "Code",
    "add_function",
]

RUNTIME = "python3.12"
ARCHITECTURE = "x86_64"
ARTIFACT_BUCKET = "ArtifactBucket"
"""The template parameter naming the bucket the zips are uploaded to."""
LAYER = "DependenciesLayer"
"""Logical id of the layer of third-party dependencies."""
TASK_HANDLER = "cirrus.aws.handlers.task.lambda_handler"
PROCESS_HANDLER = "cirrus.aws.handlers.process.lambda_handler"
UPDATE_STATE_HANDLER = "cirrus.aws.handlers.update_state.lambda_handler"


@dataclass(frozen=True)
class Code:
    """What a function runs.

    Attributes:
        key: the code zip's key in the artifact bucket (zip functions).
        handler: ``module.function`` in the zip.
        image: a container image URI (image functions; ``key`` and ``handler`` unused).
        layer: whether the dependency layer is attached.
    """

    key: str | None = None
    handler: str | None = None
    image: Any = None
    layer: bool = False


def add_function(
    template: Template,
    logical_id: str,
    *,
    name: str,
    description: str,
    code: Code,
    memory: int,
    timeout: int,
    environment: dict[str, Any],
    statements: list[dict[str, Any]],
    retention: int,
    reserved_concurrency: int | None = None,
) -> str:
    """Add a function with its role (``<id>Role``) and log group (``<id>LogGroup``).

    Returns:
        The function's logical id.
    """
    log_group = f"{logical_id}LogGroup"
    template.add(
        log_group,
        "AWS::Logs::LogGroup",
        {"LogGroupName": f"/aws/lambda/{name}", "RetentionInDays": retention},
    )
    role = add_role(
        template,
        f"{logical_id}Role",
        "lambda.amazonaws.com",
        [log_statement(log_group), *statements],
    )
    properties: dict[str, Any] = {
        "FunctionName": name,
        "Description": description[:256],
        "Role": getatt(role),
        "MemorySize": memory,
        "Timeout": timeout,
        "Architectures": [ARCHITECTURE],
    }
    if code.image is not None:
        properties["PackageType"] = "Image"
        properties["Code"] = {"ImageUri": code.image}
    else:
        properties["Runtime"] = RUNTIME
        properties["Handler"] = code.handler
        properties["Code"] = {"S3Bucket": ref(ARTIFACT_BUCKET), "S3Key": code.key}
        if code.layer:
            properties["Layers"] = [ref(LAYER)]
    if environment:
        properties["Environment"] = {"Variables": dict(sorted(environment.items()))}
    if reserved_concurrency is not None:
        properties["ReservedConcurrentExecutions"] = reserved_concurrency
    return template.add(logical_id, "AWS::Lambda::Function", properties, DependsOn=[log_group])
