"""State machines: one per enabled workflow, ``<prefix>-<workflow>``, each with its own role.

The definition is rendered (:mod:`cirrus.aws.build.render`) into a ``DefinitionString``
with ``Fn::Sub`` (the form the AWS API emulator also deploys); the role is derived from the
functions, job definitions and queues the rendered definition names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cirrus.aws.build.iam import add_role, workflow_statements
from cirrus.aws.build.pipeline import WORKFLOW_LOG_GROUP, StackInputs
from cirrus.aws.build.render import (
    RenderContext,
    RenderedWorkflow,
    render_workflow,
    workflow_references,
)
from cirrus.aws.build.template import Template, getatt, logical_id, sub
from cirrus.project import Problem, WorkflowComponent

__all__ = ["STATE_MACHINE_NAME_LIMIT", "WorkflowResources", "add_workflows", "state_machine_id"]

STATE_MACHINE_NAME_LIMIT = 80


@dataclass
class WorkflowResources:
    """The workflows that were rendered.

    Attributes:
        rendered: each enabled workflow, rendered, by name.
        state_machines: logical id of each workflow's state machine, by name.
        problems: what could not be rendered.
        warnings: what was rendered but needs a look (permissions the build cannot give).
    """

    rendered: dict[str, RenderedWorkflow] = field(default_factory=dict)
    state_machines: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


def state_machine_id(workflow: str) -> str:
    """Logical id of the state machine of ``workflow`` (``CogThumbnailStateMachine``)."""
    return logical_id(workflow, "StateMachine")


def add_workflows(
    template: Template,
    inputs: StackInputs,
    workflows: Mapping[str, WorkflowComponent],
    context: RenderContext,
    job_definition_arns: Mapping[str, Any],
) -> WorkflowResources:
    """Render every enabled workflow and add its state machine and role."""
    made = WorkflowResources()
    for name, workflow in workflows.items():
        if not workflow.enabled:
            continue
        rendered = render_workflow(workflow, context)
        made.rendered[name] = rendered
        made.warnings += rendered.warnings
        state_machine_name = f"{inputs.prefix}-{name}"
        if len(state_machine_name) > STATE_MACHINE_NAME_LIMIT:
            file = workflow.definition_file or inputs.root
            assert file is not None
            made.problems.append(
                Problem(
                    file,
                    None,
                    "name",
                    f"the state machine {state_machine_name} would be longer than "
                    f"{STATE_MACHINE_NAME_LIMIT} characters: shorten the workflow's name or "
                    "the deployment's prefix",
                )
            )
        if rendered.problems:
            made.problems += rendered.problems
            continue
        types = {key: str(value.get("Type")) for key, value in template.resources.items()}
        references = workflow_references(rendered.definition, types)
        logical = state_machine_id(name)
        role = add_role(
            template,
            f"{logical}Role",
            "states.amazonaws.com",
            workflow_statements(references, job_definition_arns),
        )
        template.add(
            logical,
            "AWS::StepFunctions::StateMachine",
            {
                "StateMachineName": state_machine_name,
                "StateMachineType": "STANDARD",
                "RoleArn": getatt(role),
                "DefinitionString": sub(rendered.definition_string),
                "LoggingConfiguration": {
                    "Level": "ERROR",
                    "IncludeExecutionData": False,
                    "Destinations": [
                        {"CloudWatchLogsLogGroup": {"LogGroupArn": getatt(WORKFLOW_LOG_GROUP)}}
                    ],
                },
            },
        )
        made.state_machines[name] = logical
    return made
