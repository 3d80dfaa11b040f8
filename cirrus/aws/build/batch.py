"""Batch resources: a job definition per batch task, and where its jobs run.

A task's ``batch`` section decides:

- ``resources``: its own CloudFormation (one job definition and one job queue), merged in;
- ``job_queue``: an existing queue; the job definition is made here (platform EC2);
- otherwise ``compute_environment`` (``fargate`` by default): a managed compute environment
  and job queue of that kind, shared by every task of the kind, in the deployment's
  subnets (``deployments.<name>.batch``) or, when none are given, in a small VPC of the
  stack's own (two public subnets, outbound-only security group).

Every job definition has a ``RetryStrategy`` (``batch.retry`` attempts), takes the
``url``/``url_out`` parameters pre-batch gives, and runs
``python task.py run Ref::url --output Ref::url_out`` (the task's ``Dockerfile.batch``
leaves the entry point empty). Its image is ``batch.image``, or the stack makes an ECR
repository ``<prefix>-<task>`` whose ``<image_tag>`` image the job runs: build and push it
there (no Docker engine is needed to build the stack).
"""

from __future__ import annotations

from collections.abc import Mapping
from copy import deepcopy
from dataclasses import dataclass, field
from typing import Any

from cirrus.aws.build.fragments import merge_fragment
from cirrus.aws.build.iam import add_role, bucket_statements
from cirrus.aws.build.pipeline import (
    DATA_BUCKET,
    PAYLOAD_BUCKET,
    StackInputs,
    base_environment,
)
from cirrus.aws.build.render import BatchTarget
from cirrus.aws.build.template import Template, arn, getatt, logical_id, ref, sub
from cirrus.project import BatchSettings, Problem, TaskComponent
from cirrus.project.yamlfile import KeyPath, dotted

__all__ = ["BATCH_COMMAND", "BatchResources", "add_batch_tasks"]

BATCH_COMMAND = ["python", "task.py", "run", "Ref::url", "--output", "Ref::url_out"]
MAX_VCPUS = 256
FARGATE_MEMORY: dict[float, tuple[int, int, int]] = {
    0.25: (512, 2048, 512),
    0.5: (1024, 4096, 1024),
    1: (2048, 8192, 1024),
    2: (4096, 16384, 1024),
    4: (8192, 30720, 1024),
    8: (16384, 61440, 4096),
    16: (32768, 122880, 8192),
}
"""vCPUs → (least, most, step) MB of memory Fargate offers with them."""
_GPU_INSTANCES = ["g4dn", "g5"]
_VPC_CIDR = "10.20.0.0/16"


@dataclass
class BatchResources:
    """What the batch tasks became.

    Attributes:
        targets: where each task's jobs go, by task name (for workflow rendering).
        job_definition_arns: each job definition's ARN without its revision, by logical id.
        problems: what could not be built.
    """

    targets: dict[str, BatchTarget] = field(default_factory=dict)
    job_definition_arns: dict[str, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def add_batch_tasks(
    template: Template, inputs: StackInputs, tasks: Mapping[str, TaskComponent]
) -> BatchResources:
    """Add the Batch resources of every task with an enabled ``batch`` section."""
    builder = _Batch(template, inputs)
    for name, task in tasks.items():
        settings = task.batch_settings
        if settings is not None:
            builder.task(name, task, settings)
    return builder.result


class _Batch:
    def __init__(self, template: Template, inputs: StackInputs) -> None:
        self.template = template
        self.inputs = inputs
        self.result = BatchResources()
        self._queues: dict[tuple[str, bool], str] = {}
        self._network: tuple[Any, Any, bool] | None = None

    def problem(self, task: TaskComponent, path: KeyPath, message: str) -> None:
        loaded = task.loaded_definition()
        file = task.definition_file
        assert file is not None
        line = loaded.line(path) if loaded is not None else None
        self.result.problems.append(Problem(file, line, dotted(path), message))

    def task(self, name: str, task: TaskComponent, settings: BatchSettings) -> None:
        prefix = self.inputs.prefix
        job_name = f"{prefix}-{name}"
        if settings.resources is not None:
            self.own_resources(name, task, settings, job_name)
            return
        kind = "ec2" if settings.job_queue else (settings.compute_environment or "fargate")
        fargate = kind.startswith("fargate")
        if fargate and not self.fargate_fits(task, settings):
            return
        if not fargate and float(settings.vcpu) != int(settings.vcpu):
            self.problem(task, ("batch", "vcpu"), "EC2 jobs take whole vCPUs: give 1, 2, 4, ...")
            return
        role = add_role(
            self.template,
            logical_id(name, "JobRole"),
            "ecs-tasks.amazonaws.com",
            [*bucket_statements([PAYLOAD_BUCKET, DATA_BUCKET]), *self.extra_statements(task)],
        )
        environment = {
            **self.inputs.environment,
            **settings.environment,
            **base_environment(self.inputs.deployment),
            "CIRRUS_DATA_BUCKET": ref(DATA_BUCKET),
        }
        container: dict[str, Any] = {
            "Image": settings.image or self.repository(name),
            "Command": BATCH_COMMAND,
            "JobRoleArn": getatt(role),
            "ResourceRequirements": [
                {"Type": "VCPU", "Value": _number(settings.vcpu)},
                {"Type": "MEMORY", "Value": str(settings.memory)},
                *([{"Type": "GPU", "Value": str(settings.gpu)}] if settings.gpu else []),
            ],
            "Environment": [
                {"Name": key, "Value": value} for key, value in sorted(environment.items())
            ],
        }
        if fargate:
            public = self.network()[2]
            container["ExecutionRoleArn"] = getatt(self.execution_role())
            container["NetworkConfiguration"] = {
                "AssignPublicIp": "ENABLED" if public else "DISABLED"
            }
            container["FargatePlatformConfiguration"] = {"PlatformVersion": "LATEST"}
        properties: dict[str, Any] = {
            "JobDefinitionName": job_name,
            "Type": "container",
            "PlatformCapabilities": ["FARGATE" if fargate else "EC2"],
            "Parameters": {"url": "", "url_out": ""},
            "RetryStrategy": {"Attempts": settings.retry},
            "ContainerProperties": container,
        }
        if settings.timeout:
            properties["Timeout"] = {"AttemptDurationSeconds": settings.timeout}
        job_definition = self.template.add(
            logical_id(name, "JobDefinition"), "AWS::Batch::JobDefinition", properties
        )
        self.result.job_definition_arns[job_definition] = _unversioned(job_name)
        if settings.job_queue:
            target = BatchTarget(job_definition, None, settings.job_queue, job_name)
        else:
            target = BatchTarget(job_definition, self.queue(kind, settings.gpu > 0), None, job_name)
        self.result.targets[name] = target

    def extra_statements(self, task: TaskComponent) -> list[dict[str, Any]]:
        """The ``lambda.iam_statements`` of the task: they are the task's, whatever runs it."""
        section = task.document.get("lambda")
        statements = section.get("iam_statements", []) if isinstance(section, dict) else []
        return list(statements)

    def fargate_fits(self, task: TaskComponent, settings: BatchSettings) -> bool:
        bounds = FARGATE_MEMORY.get(float(settings.vcpu))
        if bounds is None:
            return True  # the definition's own check reports the vCPUs
        least, most, step = bounds
        if least <= settings.memory <= most and (settings.memory - least) % step == 0:
            return True
        self.problem(
            task,
            ("batch", "memory"),
            f"is {settings.memory} MB; Fargate gives {_number(settings.vcpu)} vCPU "
            f"{least}..{most} MB in steps of {step}: pick one of those",
        )
        return False

    def own_resources(
        self, name: str, task: TaskComponent, settings: BatchSettings, job_name: str
    ) -> None:
        """``batch.resources``: merged as written; its job definition and queue are the task's."""
        loaded = task.loaded_definition()
        assert loaded is not None and settings.resources is not None
        path = ("batch", "resources")
        fragment = deepcopy(settings.resources)
        resources = fragment.get("Resources", {})
        found: dict[str, list[str]] = {"AWS::Batch::JobDefinition": [], "AWS::Batch::JobQueue": []}
        for logical, resource in resources.items():
            if isinstance(resource, dict) and resource.get("Type") in found:
                found[resource["Type"]].append(str(logical))
        definitions, queues = found["AWS::Batch::JobDefinition"], found["AWS::Batch::JobQueue"]
        if len(definitions) != 1 or len(queues) != 1:
            self.problem(
                task,
                (*path, "Resources"),
                "must hold one AWS::Batch::JobDefinition and one AWS::Batch::JobQueue (found "
                f"{len(definitions)} and {len(queues)}): they are what the task's jobs run on",
            )
            return
        (job_definition,), (queue,) = definitions, queues
        properties = resources[job_definition].setdefault("Properties", {})
        if not isinstance(properties, dict):
            self.problem(task, (*path, "Resources", job_definition), "needs `Properties`")
            return
        properties.setdefault("RetryStrategy", {"Attempts": settings.retry})
        properties.setdefault("JobDefinitionName", job_name)  # so the role can name it
        problems = merge_fragment(self.template, fragment, loaded, path, self.inputs.root)
        self.result.problems += problems
        if problems:
            return
        declared = properties["JobDefinitionName"]
        self.result.job_definition_arns[job_definition] = _unversioned(str(declared))
        self.result.targets[name] = BatchTarget(job_definition, queue, None, job_name)

    # -- shared resources

    def repository(self, task: str) -> Any:
        name = logical_id(task, "Repository")
        if name not in self.template.resources:
            self.template.add(
                name,
                "AWS::ECR::Repository",
                {"RepositoryName": f"{self.inputs.prefix}-{task}".lower()},
            )
        return sub(f"${{{name}.RepositoryUri}}:{self.inputs.deployment.image_tag}")

    def execution_role(self) -> str:
        name = "BatchExecutionRole"
        if name not in self.template.resources:
            add_role(
                self.template,
                name,
                "ecs-tasks.amazonaws.com",
                [],
                managed=["service-role/AmazonECSTaskExecutionRolePolicy"],
            )
        return name

    def queue(self, kind: str, gpu: bool) -> str:
        key = (kind, gpu)
        if key in self._queues:
            return self._queues[key]
        words = kind.split("-") + (["gpu"] if gpu else [])
        stem = logical_id("batch", *words)
        subnets, groups, _ = self.network()
        resources: dict[str, Any] = {
            "Type": {"fargate": "FARGATE", "fargate-spot": "FARGATE_SPOT", "ec2": "EC2"}.get(
                kind, "SPOT"
            ),
            "MaxvCpus": MAX_VCPUS,
            "Subnets": subnets,
            "SecurityGroupIds": groups,
        }
        if not kind.startswith("fargate"):
            resources.update(
                {
                    "MinvCpus": 0,
                    "AllocationStrategy": "SPOT_CAPACITY_OPTIMIZED"
                    if kind == "ec2-spot"
                    else "BEST_FIT_PROGRESSIVE",
                    "InstanceTypes": _GPU_INSTANCES if gpu else ["optimal"],
                    "InstanceRole": getatt(self.instance_profile()),
                }
            )
        name = f"{self.inputs.prefix}-{'-'.join(words)}"
        environment = self.template.add(
            f"{stem}ComputeEnvironment",
            "AWS::Batch::ComputeEnvironment",
            {
                "ComputeEnvironmentName": name,
                "Type": "MANAGED",
                "State": "ENABLED",
                "ServiceRole": getatt(self.service_role()),
                "ComputeResources": resources,
            },
        )
        queue = self.template.add(
            f"{stem}JobQueue",
            "AWS::Batch::JobQueue",
            {
                "JobQueueName": name,
                "Priority": 1,
                "State": "ENABLED",
                "ComputeEnvironmentOrder": [{"Order": 1, "ComputeEnvironment": ref(environment)}],
            },
        )
        self._queues[key] = queue
        return queue

    def service_role(self) -> str:
        """The role Batch manages the compute environments with.

        AWS would use its service-linked role without one; naming it keeps the stack free
        of account-wide prerequisites, and the emulator requires it.
        """
        name = "BatchServiceRole"
        if name not in self.template.resources:
            add_role(
                self.template,
                name,
                "batch.amazonaws.com",
                [],
                managed=["service-role/AWSBatchServiceRole"],
            )
        return name

    def instance_profile(self) -> str:
        name = "BatchInstanceProfile"
        if name not in self.template.resources:
            role = add_role(
                self.template,
                "BatchInstanceRole",
                "ec2.amazonaws.com",
                [],
                managed=["service-role/AmazonEC2ContainerServiceforEC2Role"],
            )
            self.template.add(name, "AWS::IAM::InstanceProfile", {"Roles": [ref(role)]})
        return name

    def network(self) -> tuple[Any, Any, bool]:
        """Subnets, security groups, and whether jobs need a public IP (the stack's own VPC)."""
        if self._network is not None:
            return self._network
        deployment = self.inputs.deployment
        if deployment.batch_subnets:
            self._network = (
                list(deployment.batch_subnets),
                list(deployment.batch_security_groups),
                False,
            )
            return self._network
        add = self.template.add
        add(
            "BatchVpc",
            "AWS::EC2::VPC",
            {"CidrBlock": _VPC_CIDR, "EnableDnsSupport": True, "EnableDnsHostnames": True},
        )
        add("BatchInternetGateway", "AWS::EC2::InternetGateway", {})
        add(
            "BatchGatewayAttachment",
            "AWS::EC2::VPCGatewayAttachment",
            {"VpcId": ref("BatchVpc"), "InternetGatewayId": ref("BatchInternetGateway")},
        )
        add("BatchRouteTable", "AWS::EC2::RouteTable", {"VpcId": ref("BatchVpc")})
        add(
            "BatchDefaultRoute",
            "AWS::EC2::Route",
            {
                "RouteTableId": ref("BatchRouteTable"),
                "DestinationCidrBlock": "0.0.0.0/0",
                "GatewayId": ref("BatchInternetGateway"),
            },
            DependsOn=["BatchGatewayAttachment"],
        )
        subnets = []
        for index in (0, 1):
            subnet = add(
                f"BatchSubnet{index + 1}",
                "AWS::EC2::Subnet",
                {
                    "VpcId": ref("BatchVpc"),
                    "CidrBlock": f"10.20.{index * 16}.0/20",
                    "AvailabilityZone": {"Fn::Select": [index, {"Fn::GetAZs": ""}]},
                    "MapPublicIpOnLaunch": True,
                },
            )
            add(
                f"BatchSubnet{index + 1}RouteTableAssociation",
                "AWS::EC2::SubnetRouteTableAssociation",
                {"SubnetId": ref(subnet), "RouteTableId": ref("BatchRouteTable")},
            )
            subnets.append(ref(subnet))
        add(
            "BatchSecurityGroup",
            "AWS::EC2::SecurityGroup",
            {
                "GroupDescription": "cirrus Batch jobs: outbound only",
                "VpcId": ref("BatchVpc"),
                "SecurityGroupEgress": [{"IpProtocol": "-1", "CidrIp": "0.0.0.0/0"}],
            },
        )
        self._network = (subnets, [getatt("BatchSecurityGroup", "GroupId")], True)
        return self._network


def _number(value: float) -> str:
    """``1`` for 1.0, ``0.25`` for 0.25: as Batch writes vCPUs."""
    return str(int(value)) if float(value).is_integer() else str(value)


def _unversioned(name: str) -> Any:
    """The ARN of job definition ``name`` without its revision."""
    return arn("batch", f"job-definition/{name}")
