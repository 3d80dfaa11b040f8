"""One rule for "which task does this Task state name", asked by validation and execution.

Every spelling users write goes through both ``cirrus validate`` and the engine with the
runtime's resolver; the two give one answer by construction.
"""

from __future__ import annotations

from typing import Any

import pytest

from cirrus.engine import StateMachine, run_execution
from cirrus.errors import DefinitionError
from cirrus.project import Project, create_component, validate_project
from cirrus.project.task_resolver import ProjectTaskResolver, task_catalog
from cirrus.task.runner import TaskRunner
from tests.project.conftest import write

FUNCTION_ARN = "arn:aws:lambda:us-west-2:111122223333:function:"
SUB_ARN = "!Sub arn:aws:lambda:${AWS::Region}:${AWS::AccountId}:function:${AWS::StackName}-make-cog"


class RecordingRunner(TaskRunner):
    """Records which task ran how, instead of running it."""

    def __init__(self) -> None:
        super().__init__(lambda name: type(name, (), {}))
        self.calls: list[tuple[str, str]] = []

    def run_lambda(self, name: str, event: Any, *, timeout: float | None = None) -> Any:
        self.calls.append(("lambda", name))
        return event

    def run_batch(self, name: str, payload: Any, *, timeout: float | None = None) -> Any:
        self.calls.append(("batch", name))
        return payload


def _resource(value: str) -> str:
    return f"      Resource: {value}\n"


def _invoke(function: str) -> str:
    return (
        "      Resource: arn:aws:states:::lambda:invoke\n"
        "      Parameters:\n"
        f"        FunctionName: {function}\n"
        "        Payload.$: $\n"
    )


def _submit(job_definition: str) -> str:
    return (
        "      Resource: arn:aws:states:::batch:submitJob.sync\n"
        "      Parameters:\n"
        "        JobName: j\n"
        "        JobQueue: q\n"
        f"        JobDefinition: {job_definition}\n"
    )


RUNS = [
    pytest.param(_resource("cirrus:lambda:make-cog"), "lambda", id="portable-lambda"),
    pytest.param(_resource("cirrus:batch:make-cog"), "batch", id="portable-batch"),
    pytest.param(_resource("!GetAtt make-cog.Arn"), "lambda", id="getatt-tag"),
    pytest.param(_resource("{Fn::GetAtt: [make-cog, Arn]}"), "lambda", id="getatt-long"),
    pytest.param(_resource("!Ref make-cogLambda"), "lambda", id="ref-lambda"),
    pytest.param(_resource(f"{FUNCTION_ARN}stack-make-cog"), "lambda", id="arn-dash-prefix"),
    pytest.param(_resource(f"{FUNCTION_ARN}stack_make-cog:live"), "lambda", id="arn-alias"),
    pytest.param(_resource("stack_make-cog"), "lambda", id="function-name-prefix"),
    pytest.param(_resource(SUB_ARN), "lambda", id="sub-arn"),
    pytest.param(_invoke("stack_make-cog"), "lambda", id="invoke-name"),
    pytest.param(_invoke("!GetAtt make-cog.Arn"), "lambda", id="invoke-getatt"),
    pytest.param(_invoke(f"{FUNCTION_ARN}make-cog:$LATEST"), "lambda", id="invoke-arn"),
    pytest.param(_submit("make-cog"), "batch", id="job-name"),
    pytest.param(_submit("stack_make-cog"), "batch", id="job-name-prefix"),
    pytest.param(_submit("make-cog:2"), "batch", id="job-revision"),
    pytest.param(_submit("!Ref make-cogJobDefinition"), "batch", id="job-ref"),
    pytest.param(
        _submit("arn:aws:batch:us-east-1:1:job-definition/stack-make-cog:3"), "batch", id="job-arn"
    ),
]

REFUSED = [
    pytest.param(_resource("cirrus:lambda:missing"), "error", "`missing`", id="missing"),
    pytest.param(_resource("cirrus:batch:publish"), "error", "add a `batch`", id="wrong-type"),
    pytest.param(_resource("cirrus:shell:make-cog"), "error", "cirrus:lambda:", id="bad-kind"),
    pytest.param(_resource("!GetAtt nope.Arn"), "error", "`nope`", id="getatt-missing"),
    pytest.param(_resource(f"{FUNCTION_ARN}other"), "warning", "only run on AWS", id="unknown-arn"),
    pytest.param(_resource("arn:aws:states:::sns:publish"), "warning", "only run on AWS", id="sns"),
    pytest.param(_submit("!Ref SomeJob"), "warning", "only run on AWS", id="unknown-ref"),
]


@pytest.fixture
def tasks(project: Project) -> Project:
    create_component(project, "task", "make-cog", "makes COGs")
    write(
        project.root / "tasks/make-cog/definition.yml",
        "description: makes COGs\nlambda: {}\nbatch: {}\n",
    )
    return project


def _workflow(project: Project, task_state: str) -> dict[str, Any]:
    create_component(project, "workflow", "w", "a workflow")
    text = (
        "description: w\n"
        "definition:\n"
        "  StartAt: run\n"
        "  States:\n"
        "    run:\n"
        "      Type: Task\n"
        f"{task_state}"
        "      End: true\n"
    )
    write(project.root / "workflows/w/definition.yml", text)
    definition: dict[str, Any] = project.workflows()["w"].definition
    return definition


def _load(project: Project, definition: dict[str, Any], runner: TaskRunner) -> StateMachine:
    resolver = ProjectTaskResolver(task_catalog(project.tasks()), runner)
    return StateMachine.from_dict(definition, resolver=resolver)


@pytest.mark.parametrize(("task_state", "kind"), RUNS)
def test_every_spelling_validates_and_runs_the_task(
    tasks: Project, task_state: str, kind: str
) -> None:
    definition = _workflow(tasks, task_state)
    assert [str(p) for p in validate_project(tasks)] == []
    runner = RecordingRunner()
    result = run_execution(_load(tasks, definition, runner), {"features": []})
    assert result.succeeded, result.cause
    assert runner.calls == [(kind, "make-cog")]


@pytest.mark.parametrize(("task_state", "severity", "words"), REFUSED)
def test_validation_and_execution_refuse_alike(
    tasks: Project, task_state: str, severity: str, words: str
) -> None:
    definition = _workflow(tasks, task_state)
    [problem] = validate_project(tasks)
    assert problem.severity == severity
    assert words in problem.message
    assert problem.field.startswith("definition.States.run.")
    with pytest.raises(DefinitionError) as refused:
        _load(tasks, definition, RecordingRunner())
    [engine_problem] = refused.value.problems
    assert engine_problem.message == problem.message


def test_project_resolver_runs_a_real_task(tasks: Project) -> None:
    machine = StateMachine.from_dict(
        {
            "StartAt": "copy",
            "States": {"copy": {"Type": "Task", "Resource": "stack-copy-assets", "End": True}},
        },
        resolver=ProjectTaskResolver.for_project(tasks),
    )
    payload = {"type": "FeatureCollection", "features": [], "process": [{"workflow": "w"}]}
    result = run_execution(machine, payload)
    assert result.succeeded, result.cause
    assert result.output["features"] == []
