"""Workflow rendering: every spelling the one task rule knows becomes the deployed resource."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cirrus.aws.build import build_stack, workflow_references
from cirrus.engine import StateMachine, TargetKind, TaskHandler, TaskTarget, run_execution
from cirrus.errors import ConfigError, TaskError
from cirrus.project import Project, create_component, init_project
from tests.project.conftest import write
from tests.project.test_task_targets import RUNS

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
MAKE_COG = "${MakeCogTaskFunction.Arn}"


@pytest.fixture
def project(tmp_path: Path) -> Project:
    """A project whose task make-cog runs on Lambda and on Batch."""
    project = Project(init_project(tmp_path / "render", name="render"))
    create_component(project, "task", "make-cog", "makes COGs")
    write(
        project.root / "tasks/make-cog/definition.yml",
        "description: makes COGs\nlambda: {}\nbatch: {}\n",
    )
    create_component(project, "workflow", "w", "a workflow")
    return project


def workflow(project: Project, states: str, start: str = "run") -> None:
    """Make the workflow ``w`` hold ``states`` (YAML, indented for ``States:``)."""
    text = f"description: w\ndefinition:\n  StartAt: {start}\n  States:\n{states}"
    write(project.root / "workflows/w/definition.yml", text)


def rendered(project: Project) -> dict[str, Any]:
    definition: dict[str, Any] = build_stack(project).workflows["w"].definition
    return definition


def one_state(task_state: str) -> str:
    return f"    run:\n      Type: Task\n{task_state}      End: true\n"


@pytest.mark.parametrize(("task_state", "kind"), RUNS)
def test_every_spelling_renders_to_the_deployed_resource(
    project: Project, task_state: str, kind: str
) -> None:
    workflow(project, one_state(task_state))
    state = rendered(project)["States"]["run"]
    if kind == "lambda":
        if state["Resource"] == LAMBDA_INVOKE:
            assert state["Parameters"]["FunctionName"] == MAKE_COG
        else:
            assert state["Resource"] == MAKE_COG
    elif "cirrus:batch:" in task_state:
        assert state["Type"] == "Parallel"
    else:
        assert state["Parameters"]["JobDefinition"] == "${MakeCogJobDefinition}"
        assert state["Parameters"]["JobQueue"] == "${BatchFargateJobQueue}"


def test_upstreams_own_batch_group_renders_as_written(project: Project) -> None:
    """The batch group of docs/workflows.md, as upstream Cirrus workflows spell it."""
    workflow(
        project,
        "    batch-group:\n"
        "      Type: Parallel\n"
        "      Branches:\n"
        "        - StartAt: pre-batch\n"
        "          States:\n"
        "            pre-batch: {Type: Task, Resource: !GetAtt pre-batch.Arn, Next: batch-task}\n"
        "            batch-task:\n"
        "              Type: Task\n"
        "              Resource: arn:aws:states:::batch:submitJob.sync\n"
        "              Parameters:\n"
        "                JobName: make-cog\n"
        "                JobQueue: !Ref make-cogJobQueue\n"
        "                JobDefinition: !Ref make-cogJobDefinition\n"
        "                Parameters: {url.$: $.url}\n"
        "              Next: post-batch\n"
        "            post-batch: {Type: Task, Resource: !GetAtt post-batch.Arn, End: true}\n"
        "      OutputPath: $[0]\n"
        "      End: true\n",
        start="batch-group",
    )
    [branch] = rendered(project)["States"]["batch-group"]["Branches"]
    states = branch["States"]
    assert states["pre-batch"]["Resource"] == "${PreBatchTaskFunction.Arn}"
    assert states["post-batch"]["Resource"] == "${PostBatchTaskFunction.Arn}"
    assert states["batch-task"]["Parameters"] == {
        "JobName": "make-cog",
        "JobQueue": "${BatchFargateJobQueue}",
        "JobDefinition": "${MakeCogJobDefinition}",
        "Parameters": {"url.$": "$.url"},
    }


def test_the_rendered_definition_is_the_text_of_an_fn_sub(project: Project) -> None:
    workflow(
        project,
        "    run:\n      Type: Task\n      Resource: cirrus:lambda:make-cog\n      Next: note\n"
        "    note:\n      Type: Pass\n      Result: {text: '${not-a-variable}'}\n      End: true\n",
    )
    stack = build_stack(project)
    text = stack.template.resources["WStateMachine"]["Properties"]["DefinitionString"]["Fn::Sub"]
    assert '"Resource": "${MakeCogTaskFunction.Arn}"' in text
    assert '"text": "${!not-a-variable}"' in text  # escaped: CloudFormation keeps it as written
    assert stack.workflows["w"].definition["States"]["note"]["Result"] == {
        "text": "${not-a-variable}"
    }


class Deployed:
    """Runs a rendered definition: its ``${...}`` names mapped to Python callables."""

    def __init__(self, **targets: Callable[[Any], Any]) -> None:
        self.targets = {f"${{{name}}}": call for name, call in targets.items()}

    def resolve(self, target: TaskTarget) -> TaskHandler:
        call = self.targets[str(target.value)]
        if target.kind is TargetKind.JOB_DEFINITION:
            return TaskHandler(lambda payload, timeout: call(payload), "batch", "submitJob.sync")
        return TaskHandler(lambda payload, timeout: call(payload))


def test_a_batch_state_becomes_upstreams_batch_group(project: Project) -> None:
    workflow(
        project,
        "    run:\n      Type: Task\n      Resource: cirrus:batch:make-cog\n"
        "      TimeoutSeconds: 600\n"
        "      Retry: [{ErrorEquals: [States.ALL], MaxAttempts: 1}]\n      End: true\n",
    )
    definition = rendered(project)
    group = definition["States"]["run"]
    assert group["Type"] == "Parallel"
    assert group["OutputPath"] == "$[0]"
    assert group["Retry"] == [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 1}]
    assert group["End"] is True
    [branch] = group["Branches"]
    assert branch["StartAt"] == "pre-batch"
    pre, job, post = (branch["States"][name] for name in ("pre-batch", "make-cog", "post-batch"))
    assert pre["Resource"] == "${PreBatchTaskFunction.Arn}" and pre["Next"] == "make-cog"
    assert job["Resource"] == "arn:aws:states:::batch:submitJob.sync"
    assert job["Parameters"] == {
        "JobName": "render-make-cog",
        "JobQueue": "${BatchFargateJobQueue}",
        "JobDefinition": "${MakeCogJobDefinition}",
        "Parameters": {"url.$": "$.url", "url_out.$": "$.url_out"},
    }
    assert job["TimeoutSeconds"] == 600
    assert job["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "post-batch"}
    ]
    assert job["Next"] == "post-batch"
    assert post["Resource"] == "${PostBatchTaskFunction.Arn}" and post["End"] is True
    assert pre["Retry"][0]["ErrorEquals"] == ["Lambda.TooManyRequestsException"]
    assert job["Retry"][0]["ErrorEquals"] == ["Batch.AWSBatchException"]
    assert post["Retry"][0]["ErrorEquals"] == ["Lambda.TooManyRequestsException"]

    # the rendered definition validates and runs as upstream's pattern does
    submitted: list[Any] = []
    deployed = Deployed(
        **{
            "PreBatchTaskFunction.Arn": lambda payload: {
                "url": "s3://p/in",
                "url_out": "s3://p/out",
            },
            "MakeCogJobDefinition": submitted.append,
            "PostBatchTaskFunction.Arn": lambda detail: {
                "features": [{"id": "done"}],
                "read": detail["Parameters"]["url_out"],
            },
        }
    )
    machine = StateMachine.from_dict(definition, resolver=deployed)
    result = run_execution(machine, {"features": []}, time_scale=0)
    assert result.succeeded, result.cause
    assert result.output == {"features": [{"id": "done"}], "read": "s3://p/out"}
    assert submitted == [{"url": "s3://p/in", "url_out": "s3://p/out"}]


def test_a_failed_job_reaches_post_batch_with_its_error(project: Project) -> None:
    workflow(project, one_state("      Resource: cirrus:batch:make-cog\n"))
    seen: list[Any] = []

    def job(parameters: Any) -> Any:
        raise TaskError("Batch.JobFailed", "the container exited 1")

    def post_batch(payload: Any) -> Any:
        seen.append(payload)
        raise TaskError(payload["error"]["Error"], "from the job's log")

    deployed = Deployed(
        **{
            "PreBatchTaskFunction.Arn": lambda payload: {"url": "u", "url_out": "o"},
            "MakeCogJobDefinition": job,
            "PostBatchTaskFunction.Arn": post_batch,
        }
    )
    machine = StateMachine.from_dict(rendered(project), resolver=deployed)
    result = run_execution(machine, {"features": []}, time_scale=0)
    assert result.error == "Batch.JobFailed"
    [payload] = seen
    assert (payload["url"], payload["error"]["Error"]) == ("u", "Batch.JobFailed")


def test_references_of_other_resources_become_substitutions(project: Project) -> None:
    write(
        project.root / "cloudformation/topic.yml",
        "Resources:\n  Alerts:\n    Type: AWS::SNS::Topic\n",
    )
    workflow(
        project,
        "    run:\n      Type: Task\n      Resource: arn:aws:states:::sns:publish\n"
        "      Parameters:\n        TopicArn: !Ref Alerts\n"
        "        Subject: !GetAtt Alerts.TopicName\n"
        "        Message: !Sub 'from ${AWS::StackName} to ${Alerts}'\n      End: true\n",
    )
    parameters = rendered(project)["States"]["run"]["Parameters"]
    assert parameters == {
        "TopicArn": "${Alerts}",
        "Subject": "${Alerts.TopicName}",
        "Message": "from ${AWS::StackName} to ${Alerts}",
    }


@pytest.mark.parametrize(
    ("states", "line", "field", "words"),
    [
        pytest.param(
            one_state("      Resource: cirrus:batch:make-cog\n      ResultPath: $.out\n"),
            8,
            "definition.States.run.ResultPath",
            "state `run`: `ResultPath` cannot be kept when cirrus:batch:make-cog becomes the "
            "batch group",
            id="batch-result-path",
        ),
        pytest.param(
            one_state(
                "      Resource: arn:aws:states:::sns:publish\n"
                "      Parameters: {TopicArn: !Ref Nowhere}\n"
            ),
            8,
            "definition.States.run.Parameters.TopicArn",
            'state `run`: {"Ref": "Nowhere"} names `Nowhere`, which is no resource of the stack',
            id="unknown-ref",
        ),
        pytest.param(
            one_state(
                "      Resource: arn:aws:states:::sns:publish\n"
                "      Parameters: {TopicArn: !Join ['', [a, b]]}\n"
            ),
            8,
            "definition.States.run.Parameters.TopicArn",
            "state `run`: Fn::Join cannot be rendered into a state machine",
            id="join",
        ),
        pytest.param(
            one_state(
                "      Resource: cirrus:lambda:make-cog\n      QueryLanguage: JSONata\n"
                "      Arguments: {FunctionName: x}\n"
            ),
            None,
            None,
            None,
            id="jsonata-state-renders",
        ),
    ],
)
def test_a_state_that_cannot_be_rendered_is_named_with_its_file_and_line(
    project: Project, states: str, line: int | None, field: str | None, words: str | None
) -> None:
    workflow(project, states)
    if words is None:
        rendered(project)
        return
    with pytest.raises(ConfigError) as refused:
        build_stack(project)
    expected = f"workflows/w/definition.yml:{line}: {field}: {words}"
    assert expected in str(refused.value)


def test_a_disabled_task_has_nothing_to_render_to(project: Project) -> None:
    write(
        project.root / "tasks/make-cog/definition.yml",
        "description: makes COGs\nlambda: {enabled: false}\nbatch: {}\n",
    )
    workflow(project, one_state("      Resource: cirrus:lambda:make-cog\n"))
    with pytest.raises(ConfigError, match=r"definition.yml:\d+: .*make-cog"):
        build_stack(project)


def test_references_are_found_in_the_rendered_text(project: Project) -> None:
    workflow(
        project,
        "    run:\n      Type: Task\n      Resource: cirrus:batch:make-cog\n      Next: again\n"
        "    again:\n      Type: Task\n"
        "      Resource: arn:aws:lambda:us-east-1:111122223333:function:elsewhere\n"
        "      End: true\n",
    )
    stack = build_stack(project)
    types = {key: value["Type"] for key, value in stack.template.resources.items()}
    references = workflow_references(stack.workflows["w"].definition, types)
    assert references.functions == ("PreBatchTaskFunction", "PostBatchTaskFunction")
    assert references.function_arns == ("arn:aws:lambda:us-east-1:111122223333:function:elsewhere",)
    assert references.job_definitions == ("MakeCogJobDefinition",)
    assert references.job_queues == ("${BatchFargateJobQueue}",)
    assert references.batch is True
    json.dumps(stack.template.to_dict())  # all plain data
