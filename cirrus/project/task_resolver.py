"""What a project's Task states run: the engine's task resolver for a project.

    >>> resolver = ProjectTaskResolver.for_project(project)
    >>> machine = StateMachine.from_dict(definition, resolver=resolver)

Which task a state names is :func:`~cirrus.project.task_targets.match_task`; running it is
a :class:`~cirrus.task.runner.TaskRunner` (in this process for lambda-type tasks, in its own
process for batch-type tasks). Validation uses the same resolver without a runner, and
collects the states only AWS can run instead of refusing them.

A batch task run by ``arn:aws:states:::batch:submitJob.sync`` fails as a Batch job does
(``States.TaskFailed``, the job detail as the cause, its ``LogStreamName`` the URL of the
process's kept stderr), so upstream's ``post-batch`` finds the task's error as on AWS. Run
by ``cirrus:batch:<task>``, it fails with its own error name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cirrus.engine import (
    BatchJobFailed,
    Invoke,
    ResourceError,
    Spill,
    TargetKind,
    TaskHandler,
    TaskTarget,
)
from cirrus.project.components import BuiltinTask, TaskComponent, builtin_components
from cirrus.project.settings import LambdaSettings, environment_values
from cirrus.project.task_targets import match_task
from cirrus.task.kinds import TaskKind
from cirrus.task.results import MAX_RESULT_BYTES

if TYPE_CHECKING:
    from cirrus.project.project import Project
    from cirrus.task.limits import TaskSettings
    from cirrus.task.runner import TaskRunner

__all__ = ["ProjectTaskResolver", "task_catalog", "task_settings"]

_HISTORY = {
    TaskKind.LAMBDA: ("lambda", "invoke"),
    TaskKind.BATCH: ("batch", "submitJob.sync"),
}


def task_catalog(components: Mapping[str, Any]) -> dict[str, frozenset[str]]:
    """The ways each task can run, by name, from task components.

    A task whose definition enables neither ``lambda`` nor ``batch`` runs as lambda.
    """
    return {
        name: component.types or frozenset({TaskKind.LAMBDA})
        for name, component in components.items()
        if isinstance(component, TaskComponent)
    }


def task_settings(component: TaskComponent, *, isolate: bool = False) -> TaskSettings:
    """What a task's definition asks of the place it runs (see :class:`TaskSettings`).

    The Lambda ``timeout`` and ``memory`` count only when the definition sets them: a task
    without them runs in-process, where nothing can be enforced, as before. Variables merge
    as upstream's do: the component's < ``lambda`` or ``batch`` (the project's go under
    both, see :class:`~cirrus.task.runner.TaskRunner`).
    """
    from cirrus.errors import ConfigError
    from cirrus.task.limits import TaskSettings

    if isinstance(component, BuiltinTask):
        return TaskSettings(spec=component.entry_point.value, isolate=isolate)
    try:
        document = component.document
        lambda_settings = component.lambda_settings if TaskKind.LAMBDA in component.types else None
        batch_settings = component.batch_settings if TaskKind.BATCH in component.types else None
    except ConfigError:
        return TaskSettings(spec=component.name, isolate=isolate)
    raw = document.get("lambda")
    section: dict[str, Any] = raw if isinstance(raw, dict) else {}
    spec = str(component.code_file)
    if component.class_name:
        spec += f":{component.class_name}"
    if lambda_settings is None:  # a task without a lambda section runs as lambda, unlimited
        lambda_settings = LambdaSettings(
            environment=environment_values(document.get("environment"))
        )
    return TaskSettings(
        spec=spec,
        isolate=isolate,
        lambda_timeout=lambda_settings.timeout if "timeout" in section else None,
        lambda_memory=lambda_settings.memory if "memory" in section else None,
        lambda_environment=lambda_settings.environment,
        batch_timeout=batch_settings.timeout if batch_settings else None,
        batch_memory=batch_settings.memory if batch_settings else None,
        batch_attempts=batch_settings.retry if batch_settings else 1,
        batch_environment=(
            batch_settings.environment
            if batch_settings
            else environment_values(document.get("environment"))
        ),
    )


def _never_runs(payload: Any, timeout: float | None) -> Any:
    raise AssertionError("a validating resolver never runs a task")  # pragma: no cover


def _as_batch_job(run: Invoke) -> Invoke:
    """``run``, failing as an AWS Batch job does (see the module docstring)."""
    from cirrus.task.runner import BatchTaskFailed

    def submit(payload: Any, timeout: float | None) -> Any:
        try:
            return run(payload, timeout)
        except BatchTaskFailed as failed:
            raise BatchJobFailed(
                str(failed),
                log_stream_name=failed.log_url,
                exit_code=failed.exit_code,
                # without its log, the job detail still says what the task reported
                reason=failed.status_reason or (None if failed.log_url else str(failed)),
            ) from failed

    return submit


@dataclass
class ProjectTaskResolver:
    """Resolves Task states to the project's tasks.

    Args:
        tasks: every task with the ways it can run (see :func:`task_catalog`).
        runner: runs the tasks; None to only check (validation).
        aws_only: when given, a state that names no project task is recorded here as
            (target, reason) and accepted, instead of refused (validation).
    """

    tasks: Mapping[str, frozenset[str]]
    runner: TaskRunner | None = None
    aws_only: list[tuple[TaskTarget, str]] | None = None

    @classmethod
    def for_project(
        cls,
        project: Project | None,
        *,
        payload_root: str | None = None,
        data_root: str | None = None,
    ) -> ProjectTaskResolver:
        """A resolver that runs the tasks of ``project`` (built-ins only when None)."""
        # loading the Task machinery only here keeps validation and listing quick
        from cirrus.task.registry import resolve_task
        from cirrus.task.runner import TaskRunner

        components = project.tasks() if project is not None else builtin_components("task")
        tasks = task_catalog(components)
        config = project.config if project is not None else None
        isolate = config.isolate_tasks if config is not None else False
        environment = config.environment if config is not None else {}

        def settings_of(name: str) -> TaskSettings | None:
            component = components.get(name)
            if not isinstance(component, TaskComponent):
                return None
            return task_settings(component, isolate=isolate)

        runner = TaskRunner(
            project.task_class if project is not None else resolve_task,
            payload_root or (config.payload_root if config else None),
            data_root or (config.data_root if config else None),
            project.root if project is not None else None,
            settings_of=settings_of,
            environment=environment,
        )
        return cls(tasks, runner)

    def close(self) -> None:
        """End the task processes the runner keeps warm."""
        if self.runner is not None:
            self.runner.close()

    def resolve(self, target: TaskTarget) -> TaskHandler:
        """The handler for the task ``target`` names.

        Raises:
            ResourceError: it names no task that can run here, or the task cannot run
                the way the state asks.
        """
        match = match_task(target, self.tasks)
        if match.problem:
            if match.aws_only and self.aws_only is not None:
                self.aws_only.append((target, match.problem))
                return TaskHandler(_never_runs)
            raise ResourceError(match.problem, target.path)
        assert match.task is not None
        resource_type, resource = _HISTORY[match.type]
        runner = self.runner
        if runner is None:
            return TaskHandler(_never_runs, resource_type, resource)
        task = match.task
        if match.type is TaskKind.BATCH:

            def run(payload: Any, timeout: float | None) -> Any:
                return runner.run_batch(task, payload, timeout=timeout)

            if target.kind is TargetKind.JOB_DEFINITION:
                return TaskHandler(_as_batch_job(run), resource_type, resource)
            return TaskHandler(run, resource_type, resource)
        return TaskHandler(
            lambda payload, timeout: runner.run_lambda(task, payload, timeout=timeout),
            resource_type,
            resource,
            # as the task's Lambda function does on AWS: a big result goes by reference
            Spill(MAX_RESULT_BYTES, runner.store_result),
        )
