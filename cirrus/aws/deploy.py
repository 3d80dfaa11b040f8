"""``cirrus deploy``: a built project onto AWS (or an AWS API emulator) as one stack.

    >>> result = deploy(project, "dev", progress=print)     # build, upload, create or update
    >>> result.action, result.status
    ('created', 'CREATE_COMPLETE')
    >>> result.outputs["ProcessQueueUrl"]
    'https://sqs.us-west-2.amazonaws.com/123456789012/demo-dev-process'
    >>> delete(project, "dev").retention       # the stack goes; what its buckets/table do
    {'PayloadBucket': 'Delete', 'DataBucket': 'Delete', 'StateTable': 'Delete'}

Steps: build (:func:`cirrus.aws.build.build`, or read the last build with ``build=False``),
make the artifact bucket ``cirrus-<account>-<region>-<prefix>`` if it is missing, upload the
zips whose SHA-256 is not there yet, then ``CreateStack`` or ``UpdateStack`` (never change
sets: the emulator cannot update through them) with ``CAPABILITY_NAMED_IAM``, and wait,
reporting each new stack event. "No updates are to be performed" is success. A stack that
fails raises :class:`DeployError` naming each failed resource and its reason, read from the
stack events; an endpoint that fails without events (an emulator refusing a resource with
HTTP 500) gets the resources that were being made or changed named instead.

The region is ``region``, else the deployment's ``region:``, else boto3's; the endpoint is
``endpoint_url``, else whatever boto3 takes from the environment (``AWS_ENDPOINT_URL``).

Errors: :class:`~cirrus.aws.stack.DeployError` (a :class:`~cirrus.errors.CirrusError`)
when AWS refuses or a stack fails (the stack's side is in :mod:`cirrus.aws.stack`);
:class:`~cirrus.errors.ConfigError` when the project, the build or the settings are wrong
(no region, no build to deploy with ``build=False``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from cirrus.aws.build import BUILD_FOLDER, MANIFEST_FILE, TEMPLATE_FILE, Artifact
from cirrus.aws.build import build as build_project
from cirrus.aws.build.functions import ARTIFACT_BUCKET
from cirrus.aws.stack import (
    DeployError,
    Progress,
    StackEvent,
    aws_errors,
    describe_stack,
    event_ids,
    failure_message,
    is_server_failure,
    ready_stack,
    request_errors,
    server_failure,
    stack_resources,
    stack_template,
    wait_for_stack,
)
from cirrus.errors import ConfigError
from cirrus.project.deployments import DeploymentSettings, load_deployment

if TYPE_CHECKING:
    from cirrus.project import Project

__all__ = [
    "CAPABILITIES",
    "Action",
    "DeleteResult",
    "DeployError",
    "DeployResult",
    "StackEvent",
    "artifact_bucket_name",
    "delete",
    "deploy",
    "ensure_bucket",
    "load_build",
    "stack_name",
    "upload_artifacts",
]

CAPABILITIES = ("CAPABILITY_NAMED_IAM",)
"""The stack names its IAM roles."""
TEMPLATE_BODY_LIMIT = 51_200
"""Bytes CloudFormation takes in ``TemplateBody``; a larger template goes by S3 URL."""
SHA256_METADATA = "sha256"
"""User metadata of an uploaded zip: its SHA-256, so an unchanged zip is not sent again."""
RETAINED_TYPES = ("AWS::S3::Bucket", "AWS::DynamoDB::Table")
"""Resources whose ``DeletionPolicy`` ``cirrus deploy --delete`` reports."""
NO_UPDATES = "No updates are to be performed"
_BUCKET_LIMIT = 63

Action = Literal["created", "updated", "unchanged"]


@dataclass(frozen=True)
class DeployResult:
    """What :func:`deploy` did.

    Attributes:
        deployment: the deployment deployed.
        stack_name: the stack's name (the deployment's prefix).
        stack_id: the stack's ARN.
        region: the region of the stack.
        action: ``created``, ``updated`` or ``unchanged`` (CloudFormation had nothing to do).
        status: the stack's status at the end (``CREATE_COMPLETE``, ``UPDATE_COMPLETE``).
        outputs: the stack's outputs, by name.
        artifact_bucket: the bucket the zips are in.
        uploaded: keys of the zips sent in this deploy.
        unchanged_artifacts: keys of the zips already there with the same SHA-256.
    """

    deployment: DeploymentSettings
    stack_name: str
    stack_id: str
    region: str
    action: Action
    status: str
    outputs: dict[str, str]
    artifact_bucket: str
    uploaded: tuple[str, ...] = ()
    unchanged_artifacts: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The result as ``cirrus deploy`` prints it."""
        return {
            "deployment": self.deployment.name,
            "stack": self.stack_name,
            "stack_id": self.stack_id,
            "region": self.region,
            "action": self.action,
            "status": self.status,
            "artifact_bucket": self.artifact_bucket,
            "uploaded": list(self.uploaded),
            "outputs": self.outputs,
        }


@dataclass(frozen=True)
class DeleteResult:
    """What :func:`delete` did.

    Attributes:
        stack_name: the stack's name.
        deleted: false when there was no such stack.
        retention: ``DeletionPolicy`` of each bucket and table of the stack, by logical id
            (``Delete`` when the template gives none, as CloudFormation does).
        names: the physical names of those resources, by logical id.
        artifact_bucket: the artifact bucket, which is not part of the stack and stays.
    """

    stack_name: str
    deleted: bool
    retention: dict[str, str] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    artifact_bucket: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The result as ``cirrus deploy --delete`` prints it."""
        return {
            "stack": self.stack_name,
            "deleted": self.deleted,
            "retention": {
                logical: {"name": self.names.get(logical, ""), "deletion_policy": policy}
                for logical, policy in self.retention.items()
            },
            "artifact_bucket": self.artifact_bucket,
        }


def stack_name(deployment: DeploymentSettings) -> str:
    """The stack of a deployment: its prefix."""
    return deployment.prefix


def artifact_bucket_name(account: str, region: str, prefix: str) -> str:
    """The artifact bucket of a deployment: ``cirrus-<account>-<region>-<prefix>``.

    Lower case, at most 63 characters (a long prefix is cut and gets a hash of itself, so
    two prefixes never share a bucket).
    """
    name = f"cirrus-{account}-{region}-{prefix.lower()}".rstrip("-")
    if len(name) <= _BUCKET_LIMIT:
        return name
    digest = hashlib.sha256(prefix.encode()).hexdigest()[:8]
    return f"{name[: _BUCKET_LIMIT - len(digest) - 1].rstrip('-')}-{digest}"


@dataclass
class _Aws:
    """The clients of one deploy: one session, one region, one endpoint."""

    session: Any
    region: str
    endpoint_url: str | None

    @classmethod
    def connect(
        cls, deployment: DeploymentSettings, region: str | None, endpoint_url: str | None
    ) -> _Aws:
        import boto3

        session = boto3.session.Session(region_name=region or deployment.region)
        if not session.region_name:
            raise ConfigError(
                f"no region for deployment `{deployment.name}`: pass --region, give it a "
                "`region:` in cirrus.yml, or set AWS_DEFAULT_REGION"
            )
        return cls(session, str(session.region_name), endpoint_url)

    def client(self, service: str, *, retries: bool = True) -> Any:
        """A client; without ``retries`` a request is sent once (create and update are not
        repeated after a server error, which may have acted already)."""
        from botocore.config import Config

        config = None if retries else Config(retries={"total_max_attempts": 1})
        return self.session.client(service, endpoint_url=self.endpoint_url, config=config)

    def account(self) -> str:
        with aws_errors("finding the AWS account (sts:GetCallerIdentity)"):
            return str(self.client("sts").get_caller_identity()["Account"])


@dataclass(frozen=True)
class _Built:
    """What a deploy sends: the template and the zips."""

    template: dict[str, Any]
    artifacts: list[Artifact]


def _built(
    project: Project,
    settings: DeploymentSettings,
    *,
    run_build: bool,
    out_dir: Path | None,
    dependencies: bool,
    wheels: Path | None,
    progress: Progress,
) -> _Built:
    if run_build:
        progress(f"building deployment {settings.name} (prefix {settings.prefix})")
        result = build_project(
            project, settings, out_dir=out_dir, dependencies=dependencies, wheels=wheels
        )
        for warning in result.warnings:
            progress(warning.format(project.root))
        return _Built(result.template, list(result.artifacts.values()))
    return load_build(out_dir if out_dir is not None else project.root / BUILD_FOLDER, settings)


def load_build(out_dir: Path, settings: DeploymentSettings) -> _Built:
    """The template and zips of the last ``cirrus build`` in ``out_dir``.

    Raises:
        ConfigError: there is no build, it is of another deployment, or a zip is missing.
    """
    manifest_file, template_file = out_dir / MANIFEST_FILE, out_dir / TEMPLATE_FILE
    if not (manifest_file.is_file() and template_file.is_file()):
        raise ConfigError(
            f"no build in {out_dir}: run `cirrus build {settings.name}` first, or deploy "
            "without --no-build"
        )
    manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    built_for = (manifest.get("deployment"), manifest.get("prefix"))
    if built_for != (settings.name, settings.prefix):
        raise ConfigError(
            f"the build in {out_dir} is of deployment `{built_for[0]}` (prefix {built_for[1]}), "
            f"not `{settings.name}` (prefix {settings.prefix}): build it again"
        )
    artifacts = []
    for entry in manifest.get("artifacts", []):
        path = out_dir / str(entry["file"])
        if not path.is_file():
            raise ConfigError(f"{path} is missing from the build: build it again")
        artifacts.append(
            Artifact(
                str(entry["name"]),
                path,
                str(entry["sha256"]),
                int(entry["size"]),
                int(entry["unzipped"]),
            )
        )
    template = json.loads(template_file.read_text(encoding="utf-8"))
    return _Built(template, artifacts)


def ensure_bucket(s3: Any, bucket: str, region: str, progress: Progress) -> None:
    """Make the artifact bucket (public access blocked) unless it exists."""
    from botocore.exceptions import ClientError

    try:
        s3.head_bucket(Bucket=bucket)
        return
    except ClientError as exc:
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if status == 403:
            raise DeployError(
                f"the artifact bucket {bucket} belongs to another account: "
                "S3 bucket names are global; use another deployment prefix"
            ) from exc
        if status != 404:
            raise
    progress(f"making the artifact bucket {bucket}")
    arguments: dict[str, Any] = {"Bucket": bucket}
    if region != "us-east-1":  # us-east-1 takes no location constraint
        arguments["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(**arguments)
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )


def upload_artifacts(
    s3: Any, bucket: str, artifacts: list[Artifact], progress: Progress
) -> tuple[list[str], list[str]]:
    """Upload each zip unless the bucket holds it with the same SHA-256.

    Returns:
        The keys uploaded, and the keys already there.
    """
    from botocore.exceptions import ClientError

    uploaded, unchanged = [], []
    for artifact in artifacts:
        try:
            head = s3.head_object(Bucket=bucket, Key=artifact.key)
        except ClientError as exc:
            if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") != 404:
                raise
            head = {}
        if head.get("Metadata", {}).get(SHA256_METADATA) == artifact.sha256:
            unchanged.append(artifact.key)
            continue
        progress(f"uploading {artifact.key} ({artifact.size / 2**20:.1f} MB) to s3://{bucket}")
        s3.upload_file(
            str(artifact.path),
            bucket,
            artifact.key,
            ExtraArgs={"Metadata": {SHA256_METADATA: artifact.sha256}},
        )
        uploaded.append(artifact.key)
    return uploaded, unchanged


def _template_argument(s3: Any, bucket: str, region: str, text: str) -> dict[str, str]:
    """``TemplateBody``, or ``TemplateURL`` of an uploaded copy when it is too large."""
    if len(text.encode()) <= TEMPLATE_BODY_LIMIT:
        return {"TemplateBody": text}
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    key = f"templates/template-{digest}.json"
    s3.put_object(Bucket=bucket, Key=key, Body=text.encode(), ContentType="application/json")
    return {"TemplateURL": f"https://{bucket}.s3.{region}.amazonaws.com/{key}"}


def deploy(
    project: Project,
    deployment: str | DeploymentSettings | None = None,
    *,
    build: bool = True,
    dependencies: bool = True,
    wheels: Path | None = None,
    out_dir: Path | None = None,
    region: str | None = None,
    endpoint_url: str | None = None,
    parameters: Mapping[str, str] | None = None,
    progress: Progress | None = None,
    poll_seconds: float = 5.0,
    timeout_seconds: float = 3600.0,
) -> DeployResult:
    """Build ``project``'s deployment and create or update its stack.

    Args:
        project: the project.
        deployment: a deployment name, its settings, or None for the default one.
        build: build first (false: deploy the last build in ``out_dir``).
        dependencies: build the layer of third-party packages (see :func:`build`).
        wheels: build the layer from this folder of wheels only.
        out_dir: the build folder (default ``<project>/.cirrus/build/aws``).
        region: the region (default: the deployment's, else boto3's).
        endpoint_url: an AWS API endpoint such as an emulator's (default: boto3's, which
            honours ``AWS_ENDPOINT_URL``).
        parameters: more template parameters (a ``cloudformation/`` fragment's), by name;
            ``ArtifactBucket`` is given.
        progress: called with a line for each step and each stack event.
        poll_seconds: pause between looks at the stack.
        timeout_seconds: how long to wait for the stack.

    Raises:
        ConfigError: the project, its build or the settings are wrong.
        DeployError: AWS refused a step, or the stack failed (each failed resource and
            its reason in the message and in ``failures``).
    """
    report: Progress = progress or (lambda line: None)
    settings = _settings(project, deployment)
    aws = _Aws.connect(settings, region, endpoint_url)  # no region: say so before building
    built = _built(
        project,
        settings,
        run_build=build,
        out_dir=out_dir,
        dependencies=dependencies,
        wheels=wheels,
        progress=report,
    )
    declared: Mapping[str, Any] = built.template.get("Parameters", {})
    unknown = sorted(set(parameters or {}) - set(declared))
    if unknown:
        raise ConfigError(
            f"the template has no parameter {', '.join(unknown)}; "
            f"its parameters: {', '.join(declared) or 'none'}"
        )
    bucket = artifact_bucket_name(aws.account(), aws.region, settings.prefix)
    s3 = aws.client("s3")
    with aws_errors(f"uploading the build to s3://{bucket}"):
        ensure_bucket(s3, bucket, aws.region, report)
        uploaded, unchanged = upload_artifacts(s3, bucket, built.artifacts, report)
        template_text = json.dumps(built.template, separators=(",", ":"))
        template_argument = _template_argument(s3, bucket, aws.region, template_text)
    name = stack_name(settings)
    given = {**(parameters or {}), ARTIFACT_BUCKET: bucket}
    request: dict[str, Any] = {
        "StackName": name,
        **template_argument,
        "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in given.items()],
        "Capabilities": list(CAPABILITIES),
        "Tags": [
            {"Key": "cirrus:project", "Value": project.config.name},
            {"Key": "cirrus:deployment", "Value": settings.name},
        ],
    }
    cloudformation = aws.client("cloudformation")
    once = aws.client("cloudformation", retries=False)
    with aws_errors(f"reading stack {name}"):
        stack = ready_stack(cloudformation, name, report, poll_seconds, timeout_seconds)
        previous = stack_template(cloudformation, name) if stack is not None else None
        seen = event_ids(cloudformation, name) if stack is not None else set()
    action: Action = "created" if stack is None else "updated"
    if stack is not None:  # a parameter not given again keeps the value it has
        kept = {str(p["ParameterKey"]) for p in stack.get("Parameters", []) or []}
        request["Parameters"] += [
            {"ParameterKey": key, "UsePreviousValue": True}
            for key in declared
            if key not in given and key in kept
        ]
    report(f"{'creating' if stack is None else 'updating'} stack {name} in {aws.region}")
    try:
        with aws_errors(f"{'creating' if stack is None else 'updating'} stack {name}"):
            if stack is None:
                stack_id = str(once.create_stack(**request)["StackId"])
            else:
                stack_id = str(once.update_stack(**request)["StackId"])
    except DeployError as exc:
        cause = exc.__cause__
        if stack is not None and NO_UPDATES in str(exc):
            report(f"stack {name} is up to date")
            return _result(settings, stack, aws.region, "unchanged", bucket, uploaded, unchanged)
        if cause is not None and is_server_failure(cause):
            raise server_failure(cloudformation, name, built.template, previous, cause) from cause
        raise
    with aws_errors(f"waiting for stack {name}"):
        final, events = wait_for_stack(
            cloudformation,
            stack_id,
            seen=seen,
            progress=report,
            poll_seconds=poll_seconds,
            timeout_seconds=timeout_seconds,
        )
    if final.get("StackStatus") not in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
        raise DeployError(failure_message(final, events), [e for e in events if e.failed])
    return _result(settings, final, aws.region, action, bucket, uploaded, unchanged)


def _settings(project: Project, deployment: str | DeploymentSettings | None) -> DeploymentSettings:
    if isinstance(deployment, DeploymentSettings):
        return deployment
    return load_deployment(project.root, project.config.name, deployment)


def _result(
    settings: DeploymentSettings,
    stack: Mapping[str, Any],
    region: str,
    action: Action,
    bucket: str,
    uploaded: list[str],
    unchanged: list[str],
) -> DeployResult:
    outputs = {
        str(output["OutputKey"]): str(output.get("OutputValue", ""))
        for output in stack.get("Outputs", []) or []
    }
    return DeployResult(
        settings,
        str(stack.get("StackName") or stack_name(settings)),
        str(stack["StackId"]),
        region,
        action,
        str(stack["StackStatus"]),
        outputs,
        bucket,
        tuple(uploaded),
        tuple(unchanged),
    )


def delete(
    project: Project,
    deployment: str | DeploymentSettings | None = None,
    *,
    region: str | None = None,
    endpoint_url: str | None = None,
    progress: Progress | None = None,
    poll_seconds: float = 5.0,
    timeout_seconds: float = 3600.0,
) -> DeleteResult:
    """Delete the deployment's stack and wait until it is gone.

    Its buckets and table follow their ``DeletionPolicy`` (the result says which each
    has; CloudFormation cannot delete a bucket that holds objects). The artifact bucket
    is not part of the stack and stays.

    Raises:
        DeployError: AWS refused, or the stack ended ``DELETE_FAILED`` (the resources that
            failed, with their reasons, in the message).
    """
    report: Progress = progress or (lambda line: None)
    settings = _settings(project, deployment)
    aws = _Aws.connect(settings, region, endpoint_url)
    name = stack_name(settings)
    bucket = artifact_bucket_name(aws.account(), aws.region, settings.prefix)
    cloudformation = aws.client("cloudformation")
    with aws_errors(f"reading stack {name}"):
        stack = describe_stack(cloudformation, name)
        if stack is None:
            report(f"there is no stack {name} in {aws.region}: nothing to delete")
            return DeleteResult(name, False, artifact_bucket=bucket)
        seen = event_ids(cloudformation, name)
    try:  # for the report only: a stack an emulator broke may not give them
        template = stack_template(cloudformation, name) or {}
    except request_errors():
        template = {}
    names = stack_resources(cloudformation, name)
    retention = {
        logical: str(resource.get("DeletionPolicy", "Delete"))
        for logical, resource in template.get("Resources", {}).items()
        if resource.get("Type") in RETAINED_TYPES
    }
    report(f"deleting stack {name} in {aws.region}")
    with aws_errors(f"deleting stack {name}"):
        cloudformation.delete_stack(StackName=stack["StackId"])
        final, events = wait_for_stack(
            cloudformation,
            str(stack["StackId"]),
            seen=seen,
            progress=report,
            poll_seconds=poll_seconds,
            timeout_seconds=timeout_seconds,
        )
    if final.get("StackStatus") != "DELETE_COMPLETE":
        raise DeployError(failure_message(final, events), [e for e in events if e.failed])
    return DeleteResult(
        name,
        True,
        retention,
        {logical: names.get(logical, "") for logical in retention},
        bucket,
    )
