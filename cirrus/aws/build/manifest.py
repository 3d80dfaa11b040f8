"""``manifest.json``: every resource of the build, for teams that bring their own IaC.

The template is the deployment; the manifest says the same for people writing Terraform
(or anything else): each resource's name, and for functions, jobs and state machines their
environment, IAM statements and (for state machines) the rendered ASL. Values the stack
computes stay in CloudFormation's notation: ``{"Ref": "PayloadBucket"}`` is that bucket's
name, ``{"Fn::GetAtt": ["X", "Arn"]}`` the ARN of ``X``; in a rendered definition,
``${X.Arn}`` and ``${X}`` are the same, and ``substitutions`` says which resource each is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from cirrus.aws.build.packaging import Artifact
from cirrus.aws.build.render import RenderedWorkflow

__all__ = ["MANIFEST_VERSION", "NAME_PROPERTIES", "build_manifest"]

MANIFEST_VERSION = 1
NAME_PROPERTIES = {
    "AWS::Batch::ComputeEnvironment": "ComputeEnvironmentName",
    "AWS::Batch::JobDefinition": "JobDefinitionName",
    "AWS::Batch::JobQueue": "JobQueueName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::ECR::Repository": "RepositoryName",
    "AWS::Events::Rule": "Name",
    "AWS::IAM::Role": "RoleName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::Lambda::LayerVersion": "LayerName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::SSM::Parameter": "Name",
    "AWS::StepFunctions::StateMachine": "StateMachineName",
}
"""The property holding each resource type's name (absent: CloudFormation names it)."""
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9]+)(?:\.([A-Za-z0-9.]+))?\}")


def build_manifest(
    template: Mapping[str, Any],
    *,
    header: Mapping[str, Any],
    artifacts: Mapping[str, Artifact],
    workflows: Mapping[str, RenderedWorkflow],
    state_machines: Mapping[str, str],
    settings: Mapping[str, Any],
    sources: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The manifest of a built template.

    Args:
        template: the template (as :meth:`~cirrus.aws.build.template.Template.to_dict`).
        header: project, deployment, prefix and region.
        artifacts: the zips, by name.
        workflows: the rendered workflows, by name.
        state_machines: each workflow's state machine, by workflow name.
        settings: the ``CIRRUS_*`` settings of the deployment.
        sources: where each resource came from (cirrus, or a file of the project).
    """
    resources: dict[str, dict[str, Any]] = template.get("Resources", {})
    by_machine = {logical: workflows[name] for name, logical in state_machines.items()}
    described = {
        logical: {
            **_describe(resource, resources, by_machine.get(logical)),
            "source": (sources or {}).get(logical, "cirrus"),
        }
        for logical, resource in resources.items()
    }
    prefix = header.get("prefix")
    return {
        "manifest_version": MANIFEST_VERSION,
        **header,
        "template": "template.json",
        "parameters": {
            name: parameter.get("Description", "")
            for name, parameter in template.get("Parameters", {}).items()
        },
        "artifacts": [artifact.to_dict() for artifact in artifacts.values()],
        "discovery": {
            "parameter": f"/cirrus/deployments/{prefix}",
            "settings_path": f"/deployment/{prefix}/",
        },
        "settings": dict(settings),
        "workflows": {
            name: {"logical_id": logical, "state_machine": f"{prefix}-{name}"}
            for name, logical in state_machines.items()
        },
        "resources": described,
    }


def _describe(
    resource: Mapping[str, Any],
    resources: Mapping[str, Mapping[str, Any]],
    workflow: RenderedWorkflow | None,
) -> dict[str, Any]:
    kind = str(resource.get("Type"))
    properties = resource.get("Properties") or {}
    entry: dict[str, Any] = {"type": kind, "name": properties.get(NAME_PROPERTIES.get(kind, ""))}
    if kind == "AWS::Lambda::Function":
        code = properties.get("Code", {})
        entry.update(
            {
                "handler": properties.get("Handler"),
                "runtime": properties.get("Runtime"),
                "memory": properties.get("MemorySize"),
                "timeout": properties.get("Timeout"),
                "code": code.get("S3Key") or code.get("ImageUri"),
                "layers": properties.get("Layers", []),
                "environment": properties.get("Environment", {}).get("Variables", {}),
                **_role(properties.get("Role"), resources),
            }
        )
    elif kind == "AWS::Batch::JobDefinition":
        container = properties.get("ContainerProperties", {})
        entry.update(
            {
                "image": container.get("Image"),
                "command": container.get("Command"),
                "resources": container.get("ResourceRequirements"),
                "environment": {
                    item.get("Name"): item.get("Value") for item in container.get("Environment", [])
                },
                **_role(container.get("JobRoleArn"), resources),
            }
        )
    elif kind == "AWS::StepFunctions::StateMachine":
        entry.update(_role(properties.get("RoleArn"), resources))
        if workflow is not None:
            entry["definition"] = workflow.definition
            entry["substitutions"] = _substitutions(workflow.definition_string, resources)
    elif kind == "AWS::IAM::Role":
        entry.update(_statements(properties))
    return entry


def _role(value: Any, resources: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The role a ``!GetAtt <role>.Arn`` names, with its statements."""
    if not (isinstance(value, dict) and isinstance(value.get("Fn::GetAtt"), list)):
        return {"role": value}
    role = value["Fn::GetAtt"][0]
    found = resources.get(role, {})
    return {"role": role, **_statements(found.get("Properties") or {})}


def _statements(properties: Mapping[str, Any]) -> dict[str, Any]:
    statements: list[Any] = []
    for policy in properties.get("Policies", []):
        statements += policy.get("PolicyDocument", {}).get("Statement", [])
    return {
        "iam_statements": statements,
        "managed_policies": properties.get("ManagedPolicyArns", []),
    }


def _substitutions(text: str, resources: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """What each ``${...}`` of a rendered definition stands for."""
    found: dict[str, Any] = {}
    for match in _PLACEHOLDER.finditer(text):
        if match[0] in found:
            continue
        resource = resources.get(match[1], {})
        kind = resource.get("Type")
        name_property = NAME_PROPERTIES.get(str(kind), "")
        found[match[0]] = {
            "logical_id": match[1],
            "attribute": match[2] or "Ref",
            "type": kind,
            "name": (resource.get("Properties") or {}).get(name_property),
        }
    return dict(sorted(found.items()))
