"""``build``: the stack upstream's reference deployment holds, lint-clean, from any project."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from cirrus.aws.build import BuildResult, build, build_stack
from cirrus.errors import ConfigError
from cirrus.project import Project, find_project
from cirrus.state.dynamodb import table_definition
from tests.aws.build.conftest import lint
from tests.project.conftest import write

ALLOWED_LINT_WARNINGS: dict[str, str] = {}
"""cfn-lint warnings a built template may have, with the reason; none so far."""


def resources(result: BuildResult) -> dict[str, Any]:
    found: dict[str, Any] = result.template["Resources"]
    return found


def properties(result: BuildResult, logical_id: str) -> dict[str, Any]:
    found: dict[str, Any] = resources(result)[logical_id]["Properties"]
    return found


def statements(result: BuildResult, role: str) -> list[dict[str, Any]]:
    policies = properties(result, role).get("Policies", [])
    return [s for policy in policies for s in policy["PolicyDocument"]["Statement"]]


def by_sid(result: BuildResult, role: str, sid: str) -> dict[str, Any]:
    [found] = [s for s in statements(result, role) if s.get("Sid") == f"Cirrus{sid}"]
    return found


@pytest.mark.parametrize("name", ["demo", "mixed"])
def test_the_demo_and_a_project_with_every_kind_of_task_build_lint_clean(
    name: str, request: pytest.FixtureRequest
) -> None:
    project: Project = request.getfixturevalue(name)
    result = build(project, dependencies=False)
    assert result.template_path.is_file() and result.manifest_path.is_file()
    assert json.loads(result.template_path.read_text()) == result.template
    findings = lint(result.template)
    errors = [finding for finding in findings if finding[1] == "error"]
    assert errors == []
    unexplained = [f for f in findings if f[1] != "error" and f[0] not in ALLOWED_LINT_WARNINGS]
    assert unexplained == []


def test_the_stack_holds_what_upstreams_reference_deployment_holds(demo: Project) -> None:
    result = build(demo, dependencies=False)
    types = {logical: resource["Type"] for logical, resource in resources(result).items()}
    assert "AWS::CloudFormation::Stack" not in types.values()  # one flat stack
    rule = properties(result, "PayloadBucket")["LifecycleConfiguration"]["Rules"]
    assert rule == [
        {"Id": "expire-tmp", "Status": "Enabled", "Prefix": "cirrus/tmp/", "ExpirationInDays": 10}
    ]
    assert types["DataBucket"] == "AWS::S3::Bucket"
    assert properties(result, "StateTable") == table_definition("demo-state")
    queue = properties(result, "ProcessQueue")
    assert queue["QueueName"] == "demo-process"
    assert queue["VisibilityTimeout"] == 180
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["ProcessDeadLetterQueue", "Arn"]},
        "maxReceiveCount": 5,
    }
    assert properties(result, "UpdateStateDeadLetterQueue")["QueueName"] == "demo-update-state-dlq"
    assert properties(result, "PublishTopic")["TopicName"] == "demo-publish"
    assert properties(result, "WorkflowEventTopic")["TopicName"] == "demo-workflow-event"
    process = properties(result, "ProcessFunction")
    assert process["Handler"] == "cirrus.aws.handlers.process.lambda_handler"
    assert process["ReservedConcurrentExecutions"] == 16
    assert process["Timeout"] < queue["VisibilityTimeout"]
    assert properties(result, "ProcessEventSourceMapping") == {
        "EventSourceArn": {"Fn::GetAtt": ["ProcessQueue", "Arn"]},
        "FunctionName": {"Ref": "ProcessFunction"},
        "BatchSize": 10,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
    }
    rule = properties(result, "UpdateStateRule")
    assert rule["EventPattern"] == {
        "source": ["aws.states"],
        "detail-type": ["Step Functions Execution Status Change"],
        "detail": {
            "status": ["SUCCEEDED", "FAILED", "ABORTED", "TIMED_OUT"],
            "stateMachineArn": [
                {
                    "prefix": {
                        "Fn::Sub": "arn:${AWS::Partition}:states:${AWS::Region}:"
                        "${AWS::AccountId}:stateMachine:demo-"
                    }
                }
            ],
        },
    }
    [target] = rule["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": ["UpdateStateFunction", "Arn"]}
    assert target["DeadLetterConfig"] == {
        "Arn": {"Fn::GetAtt": ["UpdateStateDeadLetterQueue", "Arn"]}
    }
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 1800}
    assert properties(result, "UpdateStatePermission")["Principal"] == "events.amazonaws.com"
    machines = {
        props["StateMachineName"]: props["DefinitionString"]
        for logical, props in (
            (logical, properties(result, logical))
            for logical, kind in types.items()
            if kind == "AWS::StepFunctions::StateMachine"
        )
    }
    assert set(machines) == {"demo-cog-thumbnail", "demo-publish-only"}
    assert all(set(definition) == {"Fn::Sub"} for definition in machines.values())
    # one role and one log group per function
    functions = [logical for logical, kind in types.items() if kind == "AWS::Lambda::Function"]
    roles = {properties(result, f)["Role"]["Fn::GetAtt"][0] for f in functions}
    assert len(roles) == len(functions)
    assert all(types[f"{function}LogGroup"] == "AWS::Logs::LogGroup" for function in functions)
    assert {properties(result, f)["FunctionName"] for f in functions} == {
        "demo-process",
        "demo-update-state",
        "demo-make-cog",
        "demo-make-thumbnail",
        "demo-publish",
        "demo-copy-assets",
        "demo-pre-batch",
        "demo-post-batch",
    }


def test_functions_get_upstreams_environment(demo: Project) -> None:
    result = build(demo, dependencies=False)

    def environment(logical: str) -> dict[str, Any]:
        found: dict[str, Any] = properties(result, logical)["Environment"]["Variables"]
        return found

    everywhere = {"CIRRUS_LOG_LEVEL", "CIRRUS_PAYLOAD_BUCKET", "CIRRUS_PAYLOAD_ROOT_PREFIX"}
    pipeline = everywhere | {
        "CIRRUS_DATA_BUCKET",
        "CIRRUS_STATE_DB",
        "CIRRUS_WORKFLOW_EVENT_TOPIC_ARN",
        "CIRRUS_BASE_WORKFLOW_ARN",
        "CIRRUS_WORKFLOW_LOG_GROUP",
        "CIRRUS_PROCESS_QUEUE_URL",
    }
    assert pipeline <= set(environment("ProcessFunction"))
    assert pipeline | {"CIRRUS_PUBLISH_TOPIC_ARN"} <= set(environment("UpdateStateFunction"))
    task = environment("MakeCogTaskFunction")
    assert everywhere | {"CIRRUS_DATA_BUCKET"} <= set(task)
    assert task["CIRRUS_TASK"] == "make-cog"
    assert task["CIRRUS_PROJECT"] == "/var/task/project"
    assert task["GDAL_CACHEMAX"] == "256"  # the task's own
    assert properties(result, "MakeCogTaskFunction")["Handler"] == (
        "cirrus.aws.handlers.task.lambda_handler"
    )
    assert environment("PreBatchTaskFunction")["CIRRUS_TASK"] == "pre-batch"
    assert environment("PostBatchTaskFunction")["CIRRUS_TASK"] == "post-batch"
    state_db = environment("UpdateStateFunction")["CIRRUS_STATE_DB"]
    assert state_db == {"Ref": "StateTable"}


def test_discovery_parameters_as_upstream(demo: Project) -> None:
    result = build(demo, dependencies=False)
    parameters = {
        props["Name"]: props["Value"]
        for props in (
            resource["Properties"]
            for resource in resources(result).values()
            if resource["Type"] == "AWS::SSM::Parameter"
        )
    }
    pointer = json.loads(parameters["/cirrus/deployments/demo"])
    assert pointer == {"type": "parameter_store", "value": "/deployment/demo/"}
    assert parameters["/deployment/demo/CIRRUS_STATE_DB"] == {"Ref": "StateTable"}
    assert parameters["/deployment/demo/CIRRUS_PROCESS_QUEUE_URL"] == {"Ref": "ProcessQueue"}
    assert set(result.manifest["settings"]) == {
        name.removeprefix("/deployment/demo/") for name in parameters if "CIRRUS_" in name
    }


def test_batch_tasks_get_job_definitions_queues_and_compute(mixed: Project) -> None:
    result = build(mixed, dependencies=False)
    heavy = properties(result, "HeavyJobDefinition")
    assert heavy["JobDefinitionName"] == "mixed-dev-heavy"
    assert heavy["RetryStrategy"] == {"Attempts": 3}
    assert heavy["PlatformCapabilities"] == ["FARGATE"]
    assert heavy["Timeout"] == {"AttemptDurationSeconds": 3600}
    container = heavy["ContainerProperties"]
    assert container["Command"] == [
        "python",
        "task.py",
        "run",
        "Ref::url",
        "--output",
        "Ref::url_out",
    ]
    assert container["Image"] == {"Fn::Sub": "${HeavyRepository.RepositoryUri}:latest"}
    assert properties(result, "HeavyRepository")["RepositoryName"] == "mixed-dev-heavy"
    assert {"Name": "HEAVY_THREADS", "Value": "2"} in container["Environment"]
    assert container["ResourceRequirements"] == [
        {"Type": "VCPU", "Value": "2"},
        {"Type": "MEMORY", "Value": "8192"},
    ]
    gpu = properties(result, "GpuScanJobDefinition")
    assert gpu["PlatformCapabilities"] == ["EC2"]
    assert gpu["RetryStrategy"] == {"Attempts": 1}
    assert gpu["ContainerProperties"]["Image"].endswith("/gpu-scan:2.1.0")
    assert {"Type": "GPU", "Value": "1"} in gpu["ContainerProperties"]["ResourceRequirements"]
    compute = properties(result, "BatchEc2SpotGpuComputeEnvironment")["ComputeResources"]
    assert compute["Type"] == "SPOT"
    assert compute["Subnets"] == ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]
    assert compute["SecurityGroupIds"] == ["sg-0123456789abcdef0"]
    fargate = properties(result, "BatchFargateComputeEnvironment")["ComputeResources"]
    assert fargate["Type"] == "FARGATE"
    service_role = properties(result, "BatchFargateComputeEnvironment")["ServiceRole"]
    assert service_role == {"Fn::GetAtt": ["BatchServiceRole", "Arn"]}
    assert "BatchVpc" not in resources(result)  # the deployment names its subnets
    # the task's own CloudFormation, merged, with a retry strategy and a name added
    custom = properties(result, "CustomBatchJobDefinition")
    assert custom["RetryStrategy"] == {"Attempts": 2}
    assert custom["JobDefinitionName"] == "mixed-dev-custom-batch"
    assert resources(result)["CustomBatchJobQueue"]["Type"] == "AWS::Batch::JobQueue"
    assert resources(result)["AlertsTopic"]["Type"] == "AWS::SNS::Topic"  # cloudformation/
    assert result.template["Outputs"]["AlertsTopicArn"] == {"Value": {"Ref": "AlertsTopic"}}


def test_without_subnets_batch_runs_in_a_vpc_of_the_stack(demo: Project) -> None:
    result = build(demo, dependencies=False)
    compute = properties(result, "BatchFargateComputeEnvironment")["ComputeResources"]
    assert compute["Subnets"] == [{"Ref": "BatchSubnet1"}, {"Ref": "BatchSubnet2"}]
    network = properties(result, "MakeCogJobDefinition")["ContainerProperties"]
    assert network["NetworkConfiguration"] == {"AssignPublicIp": "ENABLED"}


def test_an_image_task_runs_its_image(mixed: Project) -> None:
    result = build(mixed, dependencies=False)
    segment = properties(result, "SegmentTaskFunction")
    assert segment["PackageType"] == "Image"
    assert segment["Code"] == {
        "ImageUri": "123456789012.dkr.ecr.us-west-2.amazonaws.com/segment:1.4.0"
    }
    assert "Handler" not in segment and "Runtime" not in segment
    assert segment["Environment"]["Variables"]["CIRRUS_TASK"] == "segment"
    assert (segment["MemorySize"], segment["Timeout"]) == (4096, 600)


def test_deployment_settings_reach_the_functions(mixed: Project) -> None:
    result = build(mixed, dependencies=False)
    assert result.deployment.name == "dev"  # the only one cirrus.yml names
    assert properties(result, "ProcessFunction")["MemorySize"] == 512
    assert properties(result, "ConvertTaskFunction")["MemorySize"] == 1536
    assert properties(result, "ConvertTaskFunction")["Timeout"] == 120
    assert properties(result, "UpdateStateFunction")["Timeout"] == 120
    assert properties(result, "ConvertTaskFunctionLogGroup")["RetentionInDays"] == 14
    convert = properties(result, "ConvertTaskFunction")["Environment"]["Variables"]
    assert (convert["CONVERT_QUALITY"], convert["CONVERT_FAST"]) == ("90", "true")
    own = [s for s in statements(result, "ConvertTaskFunctionRole") if "Sid" not in s]
    assert own[1]["Resource"] == {"Ref": "AlertsTopic"}  # iam_statements, as written


def test_a_workflows_role_allows_what_its_definition_runs(mixed: Project) -> None:
    result = build(mixed, dependencies=False)
    role = "ScenesStateMachineRole"
    invoked = by_sid(result, role, "InvokeFunctions")["Resource"]
    functions = {item["Fn::GetAtt"][0] for item in invoked if "Fn::GetAtt" in item}
    assert functions == {
        "ConvertTaskFunction",
        "SegmentTaskFunction",
        "PublishTaskFunction",
        "PreBatchTaskFunction",
        "PostBatchTaskFunction",
    }  # not copy-assets, which it does not run
    submitted = by_sid(result, role, "SubmitJobs")["Resource"]
    prefix = "arn:${AWS::Partition}:batch:${AWS::Region}:${AWS::AccountId}:job-definition/"
    assert {"Fn::Sub": f"{prefix}mixed-dev-heavy:*"} in submitted
    assert {"Fn::Sub": f"{prefix}mixed-dev-custom-batch:*"} in submitted
    assert {"Ref": "BatchFargateJobQueue"} in submitted
    assert by_sid(result, role, "WatchJobs")["Action"] == [
        "batch:DescribeJobs",
        "batch:TerminateJob",
    ]
    events = by_sid(result, role, "SyncJobs")
    assert events["Resource"][0]["Fn::Sub"].endswith(":rule/StepFunctionsGetEventsForBatchJobsRule")
    # a workflow without Batch states gets no Batch permissions
    publish_only = {s["Sid"] for s in statements(result, "PublishOnlyStateMachineRole")}
    assert "CirrusSubmitJobs" not in publish_only


def test_the_manifest_describes_every_resource(mixed: Project) -> None:
    result = build(mixed, dependencies=False)
    manifest = result.manifest
    assert json.loads(result.manifest_path.read_text()) == manifest
    assert set(manifest["resources"]) == set(resources(result))
    assert (manifest["project"], manifest["deployment"], manifest["prefix"]) == (
        "mixed",
        "dev",
        "mixed-dev",
    )
    assert manifest["region"] == "us-west-2"
    [code] = manifest["artifacts"]
    assert code["file"] == result.zips["code"].name
    convert = manifest["resources"]["ConvertTaskFunction"]
    assert convert["name"] == "mixed-dev-convert"
    assert convert["environment"]["CIRRUS_TASK"] == "convert"
    assert {
        "Effect": "Allow",
        "Action": ["s3:GetObject"],
        "Resource": "arn:aws:s3:::sentinel-cogs/*",
    } in (convert["iam_statements"])
    scenes = manifest["resources"]["ScenesStateMachine"]
    assert scenes["name"] == "mixed-dev-scenes"
    assert scenes["definition"]["States"]["convert"]["Resource"] == "${ConvertTaskFunction.Arn}"
    assert scenes["substitutions"]["${ConvertTaskFunction.Arn}"]["name"] == "mixed-dev-convert"
    assert scenes["iam_statements"]
    assert manifest["resources"]["AlertsTopic"]["source"] == "cloudformation/alerts.yml:3"
    assert manifest["resources"]["HeavyJobDefinition"]["environment"]["HEAVY_THREADS"] == "2"
    assert manifest["workflows"]["scenes"] == {
        "logical_id": "ScenesStateMachine",
        "state_machine": "mixed-dev-scenes",
    }


def test_warnings_name_the_states_the_build_cannot_give_permissions_for(mixed: Project) -> None:
    result = build(mixed, dependencies=False)
    [warning] = result.warnings
    assert warning.format(mixed.root).startswith(
        "workflows/scenes/definition.yml:61: warning: definition.States.alert.Resource: "
        "state `alert`:"
    )
    assert "gets no permission" in warning.message


def test_the_same_project_builds_the_same_bytes(mixed: Project, tmp_path: Path) -> None:
    first = build(mixed, dependencies=False, out_dir=tmp_path / "one")
    (mixed.root / "tasks/convert/src/task/task.py").touch()  # a new mtime changes nothing
    second = build(mixed, dependencies=False, out_dir=tmp_path / "two")
    assert first.zips["code"].name == second.zips["code"].name
    assert first.zips["code"].read_bytes() == second.zips["code"].read_bytes()
    assert first.template_path.read_bytes() == second.template_path.read_bytes()
    assert first.manifest["artifacts"] == second.manifest["artifacts"]
    with zipfile.ZipFile(first.zips["code"]) as archive:
        infos = archive.infolist()
    assert [info.filename for info in infos] == sorted(info.filename for info in infos)
    assert {info.date_time for info in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {info.external_attr >> 16 for info in infos} == {0o100644}


def test_a_changed_task_gets_a_new_zip_and_the_old_one_goes(mixed: Project) -> None:
    first = build(mixed, dependencies=False)
    task = mixed.root / "tasks/convert/src/task/task.py"
    task.write_text(task.read_text() + "\n# changed\n")
    second = build(mixed, dependencies=False)
    assert second.zips["code"].name != first.zips["code"].name
    assert not first.zips["code"].exists()
    key = properties(second, "ConvertTaskFunction")["Code"]["S3Key"]
    assert key == second.zips["code"].name


def test_the_code_zip_runs_the_projects_tasks_with_the_task_handler(
    mixed: Project, tmp_path: Path
) -> None:
    result = build(mixed, dependencies=False)
    unpacked = tmp_path / "var-task"
    with zipfile.ZipFile(result.zips["code"]) as archive:
        names = archive.namelist()
        archive.extractall(unpacked)
    assert "project/cirrus.yml" in names
    assert "project/tasks/convert/src/task/task.py" in names
    assert not any(name.startswith("project/tasks/segment/") for name in names)  # an image
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in names)
    [entry_points] = unpacked.glob("cirrus_stac-*.dist-info/entry_points.txt")
    assert "pre-batch = " in entry_points.read_text()  # built-ins are found in the zip
    payload = {
        "type": "FeatureCollection",
        "id": "test/workflow-scenes/a",
        "features": [
            {
                "type": "Feature",
                "stac_version": "1.0.0",
                "id": "a",
                "collection": "test",
                "geometry": None,
                "properties": {"datetime": "2024-01-01T00:00:00Z"},
                "links": [],
                "assets": {},
            }
        ],
        "process": [{"workflow": "scenes"}],
    }
    script = (
        "import cirrus, json, sys\n"
        "from cirrus.aws.handlers.task import lambda_handler\n"
        "output = lambda_handler(json.load(sys.stdin))\n"
        "print(json.dumps([cirrus.__file__, [item['id'] for item in output['features']]]))\n"
    )
    environment = {
        **os.environ,
        "PYTHONPATH": str(unpacked),
        "CIRRUS_TASK": "convert",  # as the built function's environment says
        "CIRRUS_PROJECT": str(unpacked / "project"),
        "CIRRUS_PAYLOAD_ROOT": str(tmp_path / "payloads"),
        "CIRRUS_DATA_ROOT": str(tmp_path / "data"),
    }
    done = subprocess.run(
        [sys.executable, "-c", script],
        input=json.dumps(payload),
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    location, ids = json.loads(done.stdout)
    assert Path(location).is_relative_to(unpacked)
    assert ids == ["a"]
    names_in_project = {name.split("/")[2] for name in names if name.startswith("project/tasks/")}
    assert names_in_project == {"convert"}  # batch and image tasks run from their images


def test_a_logical_id_two_places_claim_is_refused_naming_both(mixed: Project) -> None:
    write(
        mixed.root / "cloudformation/more.yml",
        "Resources:\n  Extra:\n    Type: AWS::SNS::Topic\n"
        "  ProcessQueue:\n    Type: AWS::SQS::Queue\n",
    )
    with pytest.raises(ConfigError) as refused:
        build_stack(mixed)
    assert (
        "cloudformation/more.yml:4: Resources.ProcessQueue: logical id `ProcessQueue` is already "
        "used by cirrus: rename one of them"
    ) in str(refused.value)


def test_a_task_fragment_clashing_with_a_project_fragment_names_both(mixed: Project) -> None:
    write(
        mixed.root / "cloudformation/alerts.yml",
        "Resources:\n  CustomBatchJobQueue:\n    Type: AWS::SNS::Topic\n",
    )
    with pytest.raises(ConfigError) as refused:
        build_stack(mixed)
    assert (
        "cloudformation/alerts.yml:2: Resources.CustomBatchJobQueue: logical id "
        "`CustomBatchJobQueue` is already used by tasks/custom-batch/definition.yml:"
    ) in str(refused.value)


def test_names_past_lambdas_limit_are_refused(mixed: Project) -> None:
    config = mixed.root / "cirrus.yml"
    config.write_text(config.read_text().replace("prefix: mixed-dev", "prefix: " + "p" * 30))
    write(
        mixed.root / "tasks/a-task-with-a-rather-long-name-indeed/definition.yml",
        "description: long\nlambda: {}\n",
    )
    write(mixed.root / "tasks/a-task-with-a-rather-long-name-indeed/README.md", "# long\n")
    write(
        mixed.root / "tasks/a-task-with-a-rather-long-name-indeed/src/task/task.py",
        "class Long:\n    pass\n",
    )
    with pytest.raises(ConfigError, match=r"68 characters; Lambda allows 64: shorten"):
        build_stack(mixed)


def test_a_project_that_does_not_validate_does_not_build(mixed: Project) -> None:
    write(mixed.root / "tasks/convert/definition.yml", "description: x\nlambda:\n  timeout: 9000\n")
    with pytest.raises(ConfigError, match=r"tasks/convert/definition.yml:3: lambda.timeout"):
        build(mixed, dependencies=False)


def test_fargate_memory_must_fit_the_vcpus(mixed: Project) -> None:
    definition = mixed.root / "tasks/heavy/definition.yml"
    definition.write_text(definition.read_text().replace("memory: 8192", "memory: 20480"))
    with pytest.raises(ConfigError, match=r"heavy/definition.yml:4: batch.memory: is 20480 MB"):
        build_stack(mixed)


def test_the_projects_environment_goes_under_each_tasks_own(mixed: Project) -> None:
    with (mixed.root / "cirrus.yml").open("a") as config:
        config.write("environment:\n  FROM_PROJECT: p\n  HEAVY_THREADS: '1'\n")
    result = build(find_project(explicit=mixed.root), dependencies=False)
    container = properties(result, "HeavyJobDefinition")["ContainerProperties"]
    assert {"Name": "FROM_PROJECT", "Value": "p"} in container["Environment"]
    assert {"Name": "HEAVY_THREADS", "Value": "2"} in container["Environment"]  # the task's own
    segment = properties(result, "SegmentTaskFunction")["Environment"]["Variables"]
    assert segment["FROM_PROJECT"] == "p"
