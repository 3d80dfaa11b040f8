"""validate_project: every problem at once, each with file, line and field."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cirrus.project import Problem, Project, create_component, validate_project
from tests.project.conftest import write

TASK = """\
description: a task
lambda:
  timeout: 60
"""


def _problems(project: Project) -> list[tuple[str, int | None, str, str]]:
    return [
        (str(p.file.relative_to(project.root)), p.line, p.field, p.message)
        for p in validate_project(project)
        if p.is_error
    ]


def _task(project: Project, name: str, definition: str) -> Path:
    create_component(project, "task", name, "a task")
    # only the task's own problems: not those of the test workflow made with it
    shutil.rmtree(project.root / "workflows" / f"test-{name}")
    return write(project.root / "tasks" / name / "definition.yml", definition)


def _workflow(project: Project, name: str, definition: str, file: str = "definition.yml") -> None:
    create_component(project, "workflow", name, "a workflow")
    folder = project.root / "workflows" / name
    if file != "definition.yml":
        write(folder / "definition.yml", "description: a workflow\n")
    write(folder / file, definition)


@pytest.mark.parametrize(
    ("definition", "line", "field", "words"),
    [
        pytest.param(
            "description: a\nlambda:\n  timeout: 3600\n",
            3,
            "lambda.timeout",
            ["900", "Batch"],
            id="timeout",
        ),
        pytest.param(
            "description: a\nlambda:\n  memory: 20480\n",
            3,
            "lambda.memory",
            ["10,240", "Batch"],
            id="memory",
        ),
        pytest.param(
            "description: a\nlambda:\n  memorySize: 512\n",
            3,
            "lambda.memorySize",
            ["`memory`"],
            id="upstream-name",
        ),
        pytest.param(
            "descriptoin: a\nlambda: {}\n", 1, "descriptoin", ["`description`"], id="typo"
        ),
        pytest.param("lambda: {}\n", 1, "description", ["is missing"], id="missing"),
        pytest.param(
            "description: a\nlambda:\n  timeout: five\n", 3, "lambda.timeout", ["'five'"], id="type"
        ),
        pytest.param("description: a\n", 1, "", ["`lambda` section"], id="no-type"),
        pytest.param(
            "description: a\nbatch:\n  gpu: 1\n",
            3,
            "batch.gpu",
            ["Fargate has no GPUs"],
            id="gpu-fargate",
        ),
        pytest.param(
            "description: a\nbatch:\n  vcpu: 3\n",
            3,
            "batch.vcpu",
            ["Fargate offers"],
            id="vcpu-fargate",
        ),
        pytest.param(
            "description: a\nbatch:\n  job_queue: q\n  compute_environment: ec2\n",
            4,
            "batch.compute_environment",
            ["not both"],
            id="queue-and-compute",
        ),
        pytest.param(
            "description: a\nlambda:\n  environment:\n    1BAD: x\n",
            4,
            "lambda.environment.1BAD",
            ["environment variable name"],
            id="env-name",
        ),
        pytest.param(
            "description: a\nlambda:\n  iam_statements:\n"
            "    - Effect: Maybe\n      Action: s3:*\n      Resource: '*'\n",
            4,
            "lambda.iam_statements[0].Effect",
            ["Allow, Deny"],
            id="iam",
        ),
        pytest.param(
            "description: a\nlambda: {}\nlambda: {}\n", 3, "lambda", ["twice"], id="duplicate"
        ),
        pytest.param("description: [a\n", 2, "", ["not valid YAML"], id="syntax"),
    ],
)
def test_task_definition_problems(
    project: Project, definition: str, line: int, field: str, words: list[str]
) -> None:
    _task(project, "t", definition)
    problems = _problems(project)
    assert len(problems) == 1, problems
    file, found_line, found_field, message = problems[0]
    assert (file, found_line, found_field) == ("tasks/t/definition.yml", line, field)
    for word in words:
        assert word in message


def test_batch_and_lambda_task_with_raw_resources(project: Project) -> None:
    _task(
        project,
        "t",
        "description: a\nbatch:\n  resources:\n    Resources:\n      Job:\n"
        "        Type: AWS::Batch::JobDefinition\n        Properties:\n"
        "          JobRoleArn: !GetAtt Role.Arn\n",
    )
    assert _problems(project) == []
    settings = project.tasks()["t"].batch_settings
    assert settings is not None
    job = settings.resources["Resources"]["Job"] if settings.resources else {}
    assert job["Properties"]["JobRoleArn"] == {"Fn::GetAtt": ["Role", "Arn"]}


def test_settings_apply_defaults_and_merge_environment(project: Project) -> None:
    _task(
        project,
        "t",
        "description: a\nenvironment: {A: '1', B: x}\nlambda:\n  environment: {B: y, C: true}\n"
        "batch:\n  job_queue: my-queue\n",
    )
    task = project.tasks()["t"]
    assert task.types == {"lambda", "batch"}
    lam, batch = task.lambda_settings, task.batch_settings
    assert lam is not None and batch is not None
    assert (lam.handler, lam.memory, lam.timeout) == ("task.handler", 1024, 300)
    assert lam.environment == {"A": "1", "B": "y", "C": "true"}
    assert (batch.job_queue, batch.compute_environment, batch.vcpu) == ("my-queue", None, 1)


def test_missing_readme_and_code(project: Project) -> None:
    _task(project, "t", TASK)
    (project.root / "tasks/t/README.md").unlink()
    (project.root / "tasks/t/src/task/task.py").unlink()
    problems = _problems(project)
    assert [(file, message.split(":")[0]) for file, _, _, message in problems] == [
        ("tasks/t/README.md", "is missing"),
        ("tasks/t/src/task/task.py", "is missing"),
    ]


def test_class_field_must_name_a_class(project: Project) -> None:
    _task(project, "t", TASK + "class: Nope\n")
    [(file, line, field, message)] = _problems(project)
    assert (file, line, field) == ("tasks/t/definition.yml", 4, "class")
    assert "`Nope`" in message and "T" in message


def test_bad_folder_name(project: Project) -> None:
    folder = project.root / "tasks" / "bad_name"
    write(folder / "definition.yml", TASK)
    write(folder / "README.md", "# bad")
    write(folder / "src/task/task.py", "class X: pass\n")
    [(file, _, field, message)] = _problems(project)
    assert (file, field) == ("tasks/bad_name", "name")
    assert "'_'" in message


WORKFLOW = """\
description: a workflow
definition:
  StartAt: first
  States:
    first:
      Type: Task
      Resource: {resource}
      Next: last
    last:
      Type: Succeed
"""


@pytest.mark.parametrize(
    "resource",
    [
        pytest.param("cirrus:lambda:t", id="portable"),
        pytest.param("!GetAtt t.Arn", id="getatt"),
        pytest.param("arn:aws:lambda:us-west-2:123456789012:function:demo-t", id="function-arn"),
    ],
)
def test_workflow_lambda_task_references(project: Project, resource: str) -> None:
    _task(project, "t", TASK)
    _workflow(project, "w", WORKFLOW.format(resource=resource))
    assert _problems(project) == []


def test_workflow_names_a_missing_task(project: Project) -> None:
    _workflow(project, "w", WORKFLOW.format(resource="cirrus:lambda:missing"))
    [(file, line, field, message)] = _problems(project)
    assert (file, line, field) == (
        "workflows/w/definition.yml",
        7,
        "definition.States.first.Resource",
    )
    assert "`missing`" in message


def test_workflow_runs_a_lambda_only_task_on_batch(project: Project) -> None:
    _task(project, "t", TASK)
    _workflow(project, "w", WORKFLOW.format(resource="cirrus:batch:t"))
    [(_, _, _, message)] = _problems(project)
    assert "add a `batch` section" in message


def test_workflow_batch_submit_job_names_the_task(project: Project) -> None:
    _task(project, "t", "description: a\nbatch: {}\n")
    machine = {
        "StartAt": "run",
        "States": {
            "run": {
                "Type": "Task",
                "Resource": "arn:aws:states:::batch:submitJob.sync",
                "Parameters": {"JobName": "t", "JobQueue": "q", "JobDefinition": "t"},
                "End": True,
            }
        },
    }
    _workflow(project, "w", json.dumps(machine, indent=2), file="workflow.json")
    assert _problems(project) == []
    assert project.workflows()["w"].definition == machine


def test_workflow_structure_problems_have_lines(project: Project) -> None:
    _workflow(
        project,
        "w",
        "description: w\ndefinition:\n  StartAt: nowhere\n  States:\n    a:\n      Type: Pass\n"
        "    b:\n      Type: Wait\n      Next: c\n      End: true\n    d:\n      Type: Teleport\n",
    )
    found = {(line, field) for _, line, field, _ in _problems(project)}
    assert found == {
        (3, "definition.StartAt"),
        (5, "definition.States.a"),
        (7, "definition.States.b"),
        (9, "definition.States.b.Next"),
        (10, "definition.States.b.End"),
        (12, "definition.States.d.Type"),
    }


def test_workflow_definition_twice_or_never(project: Project) -> None:
    _workflow(project, "twice", WORKFLOW.format(resource="cirrus:lambda:publish"))
    write(project.root / "workflows/twice/workflow.yml", "StartAt: x\n")
    _workflow(project, "never", "description: nothing here\n")
    messages = {(file, field): message for file, _, field, message in _problems(project)}
    assert "given twice" in messages[("workflows/twice/definition.yml", "definition")]
    assert "is missing" in messages[("workflows/never/definition.yml", "definition")]


def test_unknown_aws_resource_is_a_warning(project: Project) -> None:
    _workflow(project, "w", WORKFLOW.format(resource="arn:aws:states:::sns:publish"))
    problems = validate_project(project)
    assert [p.severity for p in problems] == ["warning"]
    assert "only run on AWS" in problems[0].message


def test_problem_format() -> None:
    problem = Problem(Path("/p/tasks/t/definition.yml"), 3, "lambda.timeout", "is too long")
    assert problem.format(Path("/p")) == "tasks/t/definition.yml:3: lambda.timeout: is too long"


def test_engine_validation_problems_point_at_the_state(project: Project) -> None:
    _workflow(
        project,
        "w",
        "description: w\ndefinition:\n  StartAt: a\n  States:\n    a:\n      Type: Pass\n"
        "      InputPath: not-a-path\n      End: true\n",
    )
    [(file, line, field, message)] = _problems(project)
    assert (file, line, field) == ("workflows/w/definition.yml", 5, "definition.States.a")
    assert "not-a-path" in message
