"""Lambda functions of the tasks: one per task with a Lambda variant, and pre-/post-batch.

Every project task with an enabled ``lambda`` section, and every built-in task (publish,
copy-assets, pre-batch, post-batch, ...), becomes ``<prefix>-<task>``. From the code zip it
runs the generic task handler (``cirrus.aws.handlers.task.lambda_handler``), which finds the
task named by ``CIRRUS_TASK`` in the project folder inside the zip (``CIRRUS_PROJECT``);
``lambda.image`` runs the image instead (its own ``CMD``, ``CIRRUS_TASK`` set all the same).
pre-batch and post-batch are made whether or not a built-in by that name is installed:
the batch pattern of every workflow needs them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cirrus.aws.build.functions import TASK_HANDLER, Code, add_function
from cirrus.aws.build.iam import bucket_statements, statement
from cirrus.aws.build.packaging import PROJECT_FOLDER
from cirrus.aws.build.pipeline import (
    DATA_BUCKET,
    DEFAULT_MEMORY,
    DEFAULT_TIMEOUTS,
    PAYLOAD_BUCKET,
    StackInputs,
    base_environment,
)
from cirrus.aws.build.template import Template, arn, logical_id, ref
from cirrus.errors import ConfigError
from cirrus.project import LambdaSettings, Problem, TaskComponent

__all__ = [
    "BATCH_HELPERS",
    "LAMBDA_NAME_LIMIT",
    "LAMBDA_TASK_ROOT",
    "TaskFunctions",
    "add_task_functions",
    "task_function_id",
]

BATCH_HELPERS = ("pre-batch", "post-batch")
LAMBDA_TASK_ROOT = "/var/task"
LAMBDA_NAME_LIMIT = 64
BATCH_LOG_GROUP = "/aws/batch/job"
"""Where Batch jobs log by default; post-batch reads a failed job's last lines there."""
_PIPELINE_FUNCTIONS = ("process", "update-state")


@dataclass
class TaskFunctions:
    """The task functions that were made.

    Attributes:
        functions: logical id of each task's function, by task name.
        problems: what could not be made (names too long, clashing).
    """

    functions: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def task_function_id(task: str) -> str:
    """Logical id of a task's function: ``make-cog`` → ``MakeCogTaskFunction``."""
    return logical_id(task, "Task", "Function")


def add_task_functions(
    template: Template, inputs: StackInputs, tasks: Mapping[str, TaskComponent]
) -> TaskFunctions:
    """Add a function for every task with an enabled Lambda variant, and pre-/post-batch."""
    made = TaskFunctions()
    settings: dict[str, tuple[LambdaSettings, TaskComponent | None]] = {}
    for name, task in tasks.items():
        if not task.enabled:
            continue
        lambda_settings = task.lambda_settings
        if lambda_settings is not None:
            settings[name] = (lambda_settings, task)
    for helper in BATCH_HELPERS:
        settings.setdefault(helper, (LambdaSettings(handler=None), None))
    for name, (lambda_settings, component) in settings.items():
        function_name = f"{inputs.prefix}-{name}"
        problem = _name_problem(name, function_name, inputs.prefix)
        if problem:
            file = component.definition_file if component is not None else None
            made.problems.append(Problem(file or inputs.root or Path(), None, "name", problem))
            continue
        try:
            made.functions[name] = _add(template, inputs, name, function_name, lambda_settings)
        except ConfigError as err:
            made.problems.append(Problem(inputs.root or Path(), None, "", str(err)))
    return made


def _name_problem(task: str, function_name: str, prefix: str) -> str:
    if task in _PIPELINE_FUNCTIONS:
        return (
            f"task `{task}` would be deployed as {function_name}, the name of cirrus's {task} "
            "function: rename the task"
        )
    if len(function_name) > LAMBDA_NAME_LIMIT:
        return (
            f"task `{task}` would be deployed as {function_name}, {len(function_name)} "
            f"characters; Lambda allows {LAMBDA_NAME_LIMIT}: shorten the task's name or the "
            f"deployment's prefix `{prefix}`"
        )
    return ""


def _add(
    template: Template,
    inputs: StackInputs,
    task: str,
    function_name: str,
    settings: LambdaSettings,
) -> str:
    helper = task in BATCH_HELPERS
    default_memory = DEFAULT_MEMORY[task] if helper else settings.memory
    default_timeout = DEFAULT_TIMEOUTS[task] if helper else settings.timeout
    environment: dict[str, Any] = {
        **inputs.environment,
        **settings.environment,
        **base_environment(inputs.deployment),
        "CIRRUS_DATA_BUCKET": ref(DATA_BUCKET),
        "CIRRUS_TASK": task,
    }
    if settings.image:
        code = Code(image=settings.image)
    else:
        code = inputs.code(TASK_HANDLER)
        environment["CIRRUS_PROJECT"] = f"{LAMBDA_TASK_ROOT}/{PROJECT_FOLDER}"
    statements: list[dict[str, Any]] = bucket_statements([PAYLOAD_BUCKET, DATA_BUCKET])
    if task == "post-batch":
        statements.append(
            statement(
                ["logs:GetLogEvents"],
                [arn("logs", f"log-group:{BATCH_LOG_GROUP}:log-stream:*")],
                "ReadJobLogs",
            )
        )
    statements += settings.iam_statements
    return add_function(
        template,
        task_function_id(task),
        name=function_name,
        description=f"cirrus task {task}",
        code=code,
        memory=inputs.memory(task, default_memory),
        timeout=inputs.timeout(task, default_timeout),
        environment=environment,
        statements=statements,
        retention=inputs.deployment.log_retention_days,
    )
