"""What a built workflow runs on AWS: its functions and jobs, with their memory and CPUs.

Read from the stack ``cirrus.aws.build.build_stack`` makes: each Task state of a rendered
definition names a function (``${Id.Arn}``, memory and architecture from the template) or
a Batch job (job definition and queue from the template). A ``cirrus:batch:<task>`` state
becomes the batch group (pre-batch → job → post-batch); its steps keep the name of the
state the project wrote, which is the name a local run's history knows.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cirrus.aws.build import Stack

__all__ = ["Step", "WorkflowShape", "workflow_shapes"]

_REF = re.compile(r"^\$\{([A-Za-z0-9]+)(?:\.Arn)?\}$")
PRE_BATCH = "PreBatchTaskFunction"
POST_BATCH = "PostBatchTaskFunction"
LAMBDA = "lambda"
BATCH = "batch"
OTHER = "other"


@dataclass(frozen=True)
class Step:
    """One Task state of a rendered workflow.

    Attributes:
        state: the state's name in the rendered definition.
        local_state: the name of the state a local run enters for it (the batch group's
            steps carry the group's name).
        kind: ``lambda``, ``batch`` or ``other`` (a service integration cirrus does not price).
        resource: the function's or job definition's logical id, or the resource as written.
        role: ``task``, or ``pre-batch``/``post-batch`` inside a batch group.
        memory_mb: the function's memory, or the job's.
        architecture: ``x86_64`` or ``arm64`` (functions).
        vcpu: the job's vCPUs.
        capacity: ``FARGATE``, ``FARGATE_SPOT`` or ``EC2`` (jobs).
        on_path: whether the state is on the main path (from ``StartAt`` by ``Next``, a
            Choice's ``Default``), not only reached by a ``Catch``.
    """

    state: str
    local_state: str
    kind: str
    resource: str
    role: str = "task"
    memory_mb: float = 0.0
    architecture: str = "x86_64"
    vcpu: float = 0.0
    capacity: str = ""
    on_path: bool = True


@dataclass(frozen=True)
class WorkflowShape:
    """A workflow as built, and the pipeline functions every payload goes through.

    Attributes:
        name: the workflow.
        steps: its Task states, in definition order.
        batch_groups: names of the states that became batch groups.
        express_ok: whether it could run as an Express workflow (no ``.sync`` or
            ``.waitForTaskToken`` integrations).
        pipeline: memory (MB) and architecture of ``process``, ``update-state``,
            ``pre-batch`` and ``post-batch``.
        path_transitions: the states entered on the main path (a Map's items once each),
            what an execution costs in transitions when nothing was measured.
    """

    name: str
    steps: list[Step]
    batch_groups: list[str] = field(default_factory=list)
    express_ok: bool = True
    pipeline: dict[str, tuple[float, str]] = field(default_factory=dict)
    path_transitions: int = 0


def _ref(value: Any) -> str | None:
    if isinstance(value, str):
        match = _REF.match(value)
        if match:
            return match.group(1)
    return None


def _function(resources: Mapping[str, Any], logical_id: str) -> tuple[float, str]:
    properties = resources.get(logical_id, {}).get("Properties", {})
    architectures = properties.get("Architectures") or ["x86_64"]
    return float(properties.get("MemorySize", 128)), str(architectures[0])


def _capacity(resources: Mapping[str, Any], queue: Any, job: Mapping[str, Any]) -> str:
    queue_id = _ref(queue)
    platforms = job.get("PlatformCapabilities") or ["EC2"]
    if queue_id is not None and queue_id in resources:
        order = resources[queue_id].get("Properties", {}).get("ComputeEnvironmentOrder", [])
        for entry in order:
            environment = _ref_id(entry.get("ComputeEnvironment"))
            props = resources.get(environment or "", {}).get("Properties", {})
            kind = props.get("ComputeResources", {}).get("Type")
            if kind:
                return "EC2" if kind in ("EC2", "SPOT") else str(kind)
        if "FargateSpot" in queue_id:
            return "FARGATE_SPOT"
    return "FARGATE" if "FARGATE" in platforms else "EC2"


def _ref_id(value: Any) -> str | None:
    if isinstance(value, dict):
        if "Ref" in value:
            return str(value["Ref"])
        if "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"]
            return str(target[0] if isinstance(target, list) else target.split(".")[0])
    return _ref(value)


def _job(
    resources: Mapping[str, Any], parameters: Mapping[str, Any]
) -> tuple[str, float, float, str]:
    definition_id = _ref(parameters.get("JobDefinition")) or str(parameters.get("JobDefinition"))
    properties = resources.get(definition_id, {}).get("Properties", {})
    requirements = {
        entry.get("Type"): entry.get("Value")
        for entry in properties.get("ContainerProperties", {}).get("ResourceRequirements", [])
    }
    vcpu = float(requirements.get("VCPU", 0) or 0)
    memory = float(requirements.get("MEMORY", 0) or 0)
    capacity = _capacity(resources, parameters.get("JobQueue"), properties)
    return definition_id, vcpu, memory, capacity


def _is_batch_group(state: Mapping[str, Any]) -> bool:
    branches = state.get("Branches") or []
    if state.get("Type") != "Parallel" or len(branches) != 1:
        return False
    inner = branches[0].get("States", {})
    return any(_ref(s.get("Resource")) == PRE_BATCH for s in inner.values())


def _main_path(machine: Mapping[str, Any]) -> list[str]:
    """The states from ``StartAt`` by ``Next`` (a Choice by its ``Default``, else its first
    rule), each once."""
    states = machine.get("States", {})
    path: list[str] = []
    name = machine.get("StartAt")
    while isinstance(name, str) and name in states and name not in path:
        path.append(name)
        state = states[name]
        if state.get("Type") == "Choice":
            choices = state.get("Choices") or [{}]
            name = state.get("Default") or choices[0].get("Next")
        else:
            name = state.get("Next")
    return path


def _processor(state: Mapping[str, Any]) -> Mapping[str, Any]:
    processor: Mapping[str, Any] = state.get("ItemProcessor") or state.get("Iterator") or {}
    return processor


def path_transitions(machine: Mapping[str, Any]) -> int:
    """States entered along the main path of ``machine``, branches and one Map item in."""
    states = machine.get("States", {})
    count = 0
    for name in _main_path(machine):
        state = states[name]
        count += 1
        if state.get("Type") == "Parallel":
            count += sum(path_transitions(branch) for branch in state.get("Branches", []))
        elif state.get("Type") == "Map":
            count += path_transitions(_processor(state))
    return count


def _steps(
    machine: Mapping[str, Any],
    resources: Mapping[str, Any],
    group: str | None,
    on_path: bool = True,
) -> Iterator[Step]:
    main = set(_main_path(machine))
    for name, state in machine.get("States", {}).items():
        kind = state.get("Type")
        here = on_path and name in main
        if kind == "Parallel":
            local = name if _is_batch_group(state) else None
            for branch in state.get("Branches", []):
                yield from _steps(branch, resources, local or group, here)
        elif kind == "Map":
            yield from _steps(_processor(state), resources, group, here)
        elif kind == "Task":
            yield _step(name, state, resources, group, here)


def _step(
    name: str,
    state: Mapping[str, Any],
    resources: Mapping[str, Any],
    group: str | None,
    on_path: bool,
) -> Step:
    local = group or name
    resource = state.get("Resource", "")
    parameters = state.get("Parameters") or {}
    function = _ref(resource)
    if function is None and str(resource).startswith("arn:aws:states:::lambda:invoke"):
        function = _ref(parameters.get("FunctionName"))
    if function is not None and resources.get(function, {}).get("Type") == "AWS::Lambda::Function":
        memory, architecture = _function(resources, function)
        role = {PRE_BATCH: "pre-batch", POST_BATCH: "post-batch"}.get(function, "task")
        if group is None:
            role = "task"
        return Step(name, local, LAMBDA, function, role, memory, architecture, on_path=on_path)
    if str(resource).startswith("arn:aws:states:::batch:submitJob"):
        definition_id, vcpu, memory, capacity = _job(resources, parameters)
        return Step(
            name,
            local,
            BATCH,
            definition_id,
            "task",
            memory,
            vcpu=vcpu,
            capacity=capacity,
            on_path=on_path,
        )
    return Step(name, local, OTHER, str(resource), on_path=on_path)


def _express_ok(value: Any) -> bool:
    if isinstance(value, dict):
        resource = value.get("Resource")
        if isinstance(resource, str) and resource.endswith(
            (".sync", ".sync:2", ".waitForTaskToken")
        ):
            return False
        return all(_express_ok(item) for item in value.values())
    if isinstance(value, list):
        return all(_express_ok(item) for item in value)
    return True


def workflow_shapes(stack: Stack) -> dict[str, WorkflowShape]:
    """Every workflow of a built stack, by name."""
    resources = stack.template.to_dict().get("Resources", {})
    pipeline = {
        name: _function(resources, logical_id)
        for name, logical_id in (
            ("process", "ProcessFunction"),
            ("update-state", "UpdateStateFunction"),
            ("pre-batch", PRE_BATCH),
            ("post-batch", POST_BATCH),
        )
    }
    shapes = {}
    for name, rendered in stack.workflows.items():
        steps = list(_steps(rendered.definition, resources, None))
        shapes[name] = WorkflowShape(
            name=name,
            steps=steps,
            batch_groups=sorted({step.local_state for step in steps if step.role == "pre-batch"}),
            express_ok=_express_ok(rendered.definition),
            pipeline=pipeline,
            path_transitions=path_transitions(rendered.definition),
        )
    return shapes
