"""``cirrus deploy``: the built stack on the moto server, what it made, updates and failures.

Each test deploys the small fixture project (one Lambda task, one workflow) under a prefix
of its own, so tests share the run's moto server without meeting.
"""

from __future__ import annotations

import json
import re
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from cirrus.aws import deploy as deploy_module
from cirrus.aws.deploy import artifact_bucket_name, delete, deploy
from cirrus.aws.stack import DeployError
from cirrus.cli.main import cli
from cirrus.errors import ConfigError
from cirrus.project import Project
from tests.aws.build.conftest import DEMO, copy_project
from tests.aws_server import LocalAWS

FIXTURES = Path(__file__).parents[1] / "fixtures" / "projects"
ACCOUNT = "123456789012"
REGION = "us-east-1"

# moto's CloudFormation warns of each resource type it skips (AWS::SQS::QueuePolicy), in
# the server's thread of this process, where the run's "error" filter would turn it into
# an HTTP 500
pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse:UserWarning")


def small_project(root: Path, prefix: str, memory: int | None = None) -> Project:
    """The small fixture project at ``root`` with a deployment ``test`` of ``prefix``."""
    if not root.exists():
        shutil.copytree(FIXTURES / "small", root)
    config = root / "cirrus.yml"
    text = config.read_text().split("deployments:")[0]
    text += f"deployments:\n  test:\n    prefix: {prefix}\n"
    if memory is not None:
        text += f"    memory:\n      hello: {memory}\n"
    config.write_text(text)
    return Project(root)


@pytest.fixture
def prefix() -> str:
    return f"dep-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def project(tmp_path: Path, prefix: str) -> Project:
    return small_project(tmp_path / "small", prefix)


def cirrus_deploy(project: Project, *args: str) -> Result:
    return CliRunner().invoke(
        cli, ["deploy", "test", "--no-deps", "--poll", "0.1", "--project", str(project.root), *args]
    )


def function_arn(aws: LocalAWS, name: str) -> str:
    return str(aws.client("lambda").get_function(FunctionName=name)["Configuration"]["FunctionArn"])


def state_machine(aws: LocalAWS, name: str) -> dict[str, Any]:
    client = aws.client("stepfunctions")
    arn = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}"
    found: dict[str, Any] = client.describe_state_machine(stateMachineArn=arn)
    return found


def test_cirrus_deploy_creates_the_stack_with_what_upstream_deploys(
    aws: LocalAWS, project: Project, prefix: str
) -> None:
    result = cirrus_deploy(project)
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed["action"] == "created"
    assert printed["status"] == "CREATE_COMPLETE"
    assert printed["stack"] == prefix
    assert printed["outputs"]["StateTableName"] == f"{prefix}-state"
    assert printed["artifact_bucket"] == f"cirrus-{ACCOUNT}-{REGION}-{prefix}"
    assert "CREATE_COMPLETE" in result.stderr  # the stack's events, as they came

    table = aws.client("dynamodb").describe_table(TableName=f"{prefix}-state")["Table"]
    assert table["KeySchema"] == [
        {"AttributeName": "collections_workflow", "KeyType": "HASH"},
        {"AttributeName": "itemids", "KeyType": "RANGE"},
    ]
    indexes = {
        index["IndexName"]: (index["KeySchema"], index["Projection"]["ProjectionType"])
        for index in table["GlobalSecondaryIndexes"]
    }
    assert indexes == {
        name: (
            [
                {"AttributeName": "collections_workflow", "KeyType": "HASH"},
                {"AttributeName": name, "KeyType": "RANGE"},
            ],
            "ALL",
        )
        for name in ("state_updated", "updated")
    }

    sqs = aws.client("sqs")
    queue = sqs.get_queue_url(QueueName=f"{prefix}-process")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
    assert attributes["VisibilityTimeout"] == "180"
    redrive = json.loads(attributes["RedrivePolicy"])
    assert int(redrive["maxReceiveCount"]) == 5
    dlq = sqs.get_queue_url(QueueName=f"{prefix}-process-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])
    assert redrive["deadLetterTargetArn"] == dlq_arn["Attributes"]["QueueArn"]

    events = aws.client("events")
    rule = events.describe_rule(Name=f"{prefix}-update-state")
    assert json.loads(rule["EventPattern"]) == {
        "source": ["aws.states"],
        "detail-type": ["Step Functions Execution Status Change"],
        "detail": {
            "status": ["SUCCEEDED", "FAILED", "ABORTED", "TIMED_OUT"],
            "stateMachineArn": [
                {"prefix": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{prefix}-"}
            ],
        },
    }
    [target] = events.list_targets_by_rule(Rule=f"{prefix}-update-state")["Targets"]
    assert target["Arn"] == function_arn(aws, f"{prefix}-update-state")

    pointer = aws.client("ssm").get_parameter(Name=f"/cirrus/deployments/{prefix}")
    assert json.loads(pointer["Parameter"]["Value"]) == {
        "type": "parameter_store",
        "value": f"/deployment/{prefix}/",
    }
    setting = aws.client("ssm").get_parameter(Name=f"/deployment/{prefix}/CIRRUS_STATE_DB")
    assert setting["Parameter"]["Value"] == f"{prefix}-state"

    machine = state_machine(aws, f"{prefix}-hello")
    assert "${" not in machine["definition"]
    definition = json.loads(machine["definition"])
    assert definition["States"]["hello"]["Resource"] == function_arn(aws, f"{prefix}-hello")
    assert definition["States"]["publish"]["Resource"] == function_arn(aws, f"{prefix}-publish")

    bucket = printed["artifact_bucket"]
    keys = [o["Key"] for o in aws.client("s3").list_objects_v2(Bucket=bucket)["Contents"]]
    assert printed["uploaded"] == [key for key in keys if key.startswith("code-")]


def test_a_second_deploy_after_a_change_updates_the_stack(
    aws: LocalAWS, project: Project, prefix: str
) -> None:
    first = deploy(project, "test", dependencies=False, poll_seconds=0.1)
    assert first.action == "created"
    assert (
        aws.client("lambda").get_function(FunctionName=f"{prefix}-hello")["Configuration"][
            "MemorySize"
        ]
        == 512
    )

    small_project(project.root, prefix, memory=1024)
    definition = project.root / "workflows/hello/definition.yml"
    definition.write_text(
        definition.read_text().replace(
            "      Next: publish\n",
            "      Next: wait\n    wait:\n      Type: Pass\n      Next: publish\n",
        )
    )
    lines: list[str] = []
    second = deploy(
        Project(project.root), "test", dependencies=False, progress=lines.append, poll_seconds=0.1
    )
    assert second.action == "updated"
    assert second.status == "UPDATE_COMPLETE"
    assert second.stack_id == first.stack_id
    assert any("UPDATE_COMPLETE" in line for line in lines)
    configuration = aws.client("lambda").get_function(FunctionName=f"{prefix}-hello")
    assert configuration["Configuration"]["MemorySize"] == 1024
    states = json.loads(state_machine(aws, f"{prefix}-hello")["definition"])["States"]
    assert states["hello"]["Next"] == "wait"
    assert states["wait"] == {"Type": "Pass", "Next": "publish"}

    # the same project again: nothing to do is success, and no zip is sent twice
    third = deploy(Project(project.root), "test", dependencies=False, poll_seconds=0.1)
    assert third.action == "unchanged"
    assert third.status == "UPDATE_COMPLETE"
    assert third.uploaded == ()
    assert len(third.unchanged_artifacts) == 1
    assert third.outputs == second.outputs


def test_a_resource_the_endpoint_refuses_is_named_without_a_traceback(
    aws: LocalAWS, project: Project
) -> None:
    assert cirrus_deploy(project).exit_code == 0
    fragments = project.root / "cloudformation"
    fragments.mkdir()
    (fragments / "broken.yml").write_text(
        "Resources:\n"
        "  BrokenQueue:\n"
        "    Type: AWS::SQS::Queue\n"
        "    Properties:\n"
        "      VisibilityTimeout: not-a-number\n"
    )
    result = cirrus_deploy(project)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.stderr.startswith("error: ") or "\nerror: " in result.stderr
    assert "BrokenQueue (AWS::SQS::Queue)" in result.stderr
    assert result.stdout == ""


def test_a_project_with_batch_and_image_tasks_deploys_once_its_network_exists(
    aws: LocalAWS, tmp_path: Path
) -> None:
    project = copy_project(FIXTURES / "mixed", tmp_path / "mixed")  # region us-west-2
    # its cirrus.yml names subnets and a security group the emulator has not got
    with pytest.raises(DeployError) as refused:
        deploy(project, "dev", dependencies=False, poll_seconds=0.1)
    message = str(refused.value)
    assert "security group sg-0123456789abcdef0 does not exist" in message
    assert "BatchFargateComputeEnvironment (AWS::Batch::ComputeEnvironment)" in message
    assert "StateTable" not in message
    # the emulator leaves the stack CREATE_IN_PROGRESS (AWS would roll it back): delete it
    assert "left the stack CREATE_IN_PROGRESS: delete it" in message
    assert delete(project, "dev", poll_seconds=0.1).deleted

    import boto3

    ec2 = boto3.session.Session(region_name="us-west-2").client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.9.{n}.0/24")["Subnet"]["SubnetId"]
        for n in (1, 2)
    ]
    group = ec2.create_security_group(GroupName="batch", Description="batch", VpcId=vpc)
    config = project.root / "cirrus.yml"
    config.write_text(
        config.read_text()
        .replace("subnet-0123456789abcdef0", subnets[0])
        .replace("subnet-0fedcba9876543210", subnets[1])
        .replace("sg-0123456789abcdef0", group["GroupId"])
    )
    result = deploy(Project(project.root), "dev", dependencies=False, poll_seconds=0.1)
    assert (result.action, result.region, result.stack_name) == (
        "created",
        "us-west-2",
        "mixed-dev",
    )
    assert result.outputs["AlertsTopicArn"].endswith(":mixed-dev-alerts")  # a fragment's output
    sfn = boto3.session.Session(region_name="us-west-2").client("stepfunctions")
    machines = {m["name"]: m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"]}
    scenes = sfn.describe_state_machine(stateMachineArn=machines["mixed-dev-scenes"])
    # every reference resolved; the workflow's own `${...}` text stays as written
    assert re.findall(r"\$\{[^}]*\}", scenes["definition"]) == ["${not-a-variable}"]
    assert ":job-definition/mixed-dev-" in scenes["definition"]
    batch = boto3.session.Session(region_name="us-west-2").client("batch")
    environments = batch.describe_compute_environments()["computeEnvironments"]
    [fargate] = [
        e
        for e in environments
        if e["computeEnvironmentName"].startswith("mixed-dev")
        and e["computeResources"]["type"] == "FARGATE"
    ]
    assert fargate["computeResources"]["securityGroupIds"] == [group["GroupId"]]


def test_a_template_over_the_body_limit_goes_by_s3_url(
    aws: LocalAWS, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(deploy_module, "TEMPLATE_BODY_LIMIT", 1000)
    project = copy_project(DEMO, tmp_path / "demo")
    result = deploy(project, dependencies=False, poll_seconds=0.1)
    assert result.action == "created"
    keys = [
        item["Key"]
        for item in aws.client("s3").list_objects_v2(Bucket=result.artifact_bucket)["Contents"]
    ]
    assert any(key.startswith("templates/template-") for key in keys)
    machine = state_machine(aws, "demo-cog-thumbnail")
    assert "${" not in machine["definition"]
    assert function_arn(aws, "demo-make-cog") in machine["definition"]


def test_a_fragments_parameter_is_given_once_and_kept_after(
    aws: LocalAWS, project: Project, prefix: str
) -> None:
    fragments = project.root / "cloudformation"
    fragments.mkdir()
    (fragments / "topic.yml").write_text(
        "Parameters:\n"
        "  TeamName:\n"
        "    Type: String\n"
        "Resources:\n"
        "  TeamTopic:\n"
        "    Type: AWS::SNS::Topic\n"
        "    Properties:\n"
        "      TopicName: !Sub '${AWS::StackName}-${TeamName}'\n"
    )
    unknown = cirrus_deploy(project, "--parameter", "Nope=1")
    assert unknown.exit_code == 1
    assert "the template has no parameter Nope; its parameters: ArtifactBucket, TeamName" in (
        unknown.stderr
    )
    assert cirrus_deploy(project, "--parameter", "TeamName=ops").exit_code == 0
    (fragments / "topic.yml").write_text(
        (fragments / "topic.yml").read_text() + "Outputs:\n  Team:\n    Value: !Ref TeamName\n"
    )
    again = cirrus_deploy(project)  # TeamName not given: it keeps "ops"
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["outputs"]["Team"] == "ops"


def test_deploy_without_build_needs_a_build_of_that_deployment(
    aws: LocalAWS, project: Project, prefix: str
) -> None:
    with pytest.raises(ConfigError, match="no build in"):
        deploy(project, "test", build=False)
    result = CliRunner().invoke(cli, ["build", "test", "--no-deps", "--project", str(project.root)])
    assert result.exit_code == 0, result.output
    deployed = deploy(project, "test", build=False, poll_seconds=0.1)
    assert deployed.action == "created"
    assert deployed.outputs["StateTableName"] == f"{prefix}-state"


def test_the_endpoint_comes_from_the_option_or_the_environment(
    aws: LocalAWS, project: Project, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    result = cirrus_deploy(project, "--endpoint-url", aws.endpoint, "--region", REGION)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["region"] == REGION
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws.endpoint)
    again = deploy(project, "test", dependencies=False, poll_seconds=0.1)
    assert again.action == "unchanged"


def test_delete_removes_the_stack_and_says_what_its_buckets_and_table_do(
    aws: LocalAWS, project: Project, prefix: str
) -> None:
    assert cirrus_deploy(project).exit_code == 0
    result = cirrus_deploy(project, "--delete", "--yes")
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed["deleted"] is True
    assert printed["retention"]["StateTable"] == {
        "name": f"{prefix}-state",
        "deletion_policy": "Delete",
    }
    assert "DeletionPolicy" in result.stderr
    stacks = aws.client("cloudformation").list_stacks()["StackSummaries"]
    assert [s["StackStatus"] for s in stacks if s["StackName"] == prefix] == ["DELETE_COMPLETE"]
    assert delete(project, "test").deleted is False  # nothing left to delete


def test_the_artifact_bucket_name_is_a_valid_bucket_name() -> None:
    assert artifact_bucket_name(ACCOUNT, REGION, "Demo-dev") == (
        f"cirrus-{ACCOUNT}-{REGION}-demo-dev"
    )
    long_a = artifact_bucket_name(ACCOUNT, "ap-southeast-2", "a" * 40)
    long_b = artifact_bucket_name(ACCOUNT, "ap-southeast-2", "a" * 39 + "b")
    assert len(long_a) <= 63 and len(long_b) <= 63
    assert long_a != long_b


def test_no_region_is_one_line_naming_the_fixes(
    aws: LocalAWS, project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    result = cirrus_deploy(project)
    assert result.exit_code == 1
    assert "error: no region for deployment `test`: pass --region" in result.stderr
    assert "Traceback" not in result.output
