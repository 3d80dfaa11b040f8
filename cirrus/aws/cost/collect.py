"""A project's estimates: build it, find or make histories, and price every workflow.

Histories come from two places: the ``history.json`` files cirrus keeps beside an
execution's input under the payload root (``keep_history: all``), and sample payloads
run once here on the engine with the project's tasks (their outputs go to a temporary
folder)::

    from cirrus.aws.cost import estimate_project

    estimates = estimate_project(Project("."), samples=[payload], payloads=1000)
    estimates[0].to_dict()
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from cirrus.aws.cost.estimate import Estimate, estimate_workflow
from cirrus.aws.cost.measure import Measurement, measure_histories
from cirrus.aws.cost.prices import Prices, load_prices
from cirrus.aws.cost.shape import workflow_shapes
from cirrus.errors import ConfigError

if TYPE_CHECKING:
    from cirrus.project import Project
    from cirrus.project.deployments import DeploymentSettings

__all__ = ["estimate_project", "run_samples", "stored_histories"]

HISTORY_FILE = "history.json"
MAX_HISTORIES = 100
"""Histories read per workflow from the payload root (the first found, by key)."""
_WORKFLOW = re.compile(r"/workflow-([^/]+)/")


def stored_histories(
    payload_root: str, workflows: Iterable[str], *, limit: int = MAX_HISTORIES
) -> dict[str, list[list[dict[str, Any]]]]:
    """The kept histories under ``payload_root``, by workflow (at most ``limit`` each).

    A payload root that does not exist yet holds none.
    """
    from cirrus.errors import StorageError
    from cirrus.storage import open_store

    wanted = set(workflows)
    found: dict[str, list[list[dict[str, Any]]]] = {name: [] for name in wanted}
    try:
        store = open_store(payload_root)
        keys = [key for key in store.list("executions") if key.endswith(f"/{HISTORY_FILE}")]
        for key in sorted(keys):
            match = _WORKFLOW.search(key)
            if match is None or match.group(1) not in wanted:
                continue
            histories = found[match.group(1)]
            if len(histories) < limit:
                history = json.loads(store.get(key))
                if isinstance(history, list):
                    histories.append(history)
    except StorageError:
        return found
    return found


def run_samples(
    project: Project, samples: Iterable[Mapping[str, Any]], workflows: Iterable[str]
) -> dict[str, list[list[dict[str, Any]]]]:
    """Run each sample payload's workflow once on the engine; their histories by workflow.

    Samples of other workflows are skipped. Task outputs go to a temporary folder.

    Raises:
        InvalidInput: a sample is not a payload.
    """
    from cirrus.engine import StateMachine, run_execution
    from cirrus.payload import Payload
    from cirrus.project.task_resolver import ProjectTaskResolver

    wanted = set(workflows)
    found: dict[str, list[list[dict[str, Any]]]] = {name: [] for name in wanted}
    definitions = dict(project.workflows())
    with tempfile.TemporaryDirectory(prefix="cirrus-cost-") as folder:
        resolver = ProjectTaskResolver.for_project(
            project, payload_root=f"{folder}/payloads", data_root=f"{folder}/data"
        )
        machines: dict[str, StateMachine] = {}
        for sample in samples:
            workflow = Payload.from_dict(sample).workflow
            if workflow not in wanted or workflow not in definitions:
                continue
            machine = machines.get(workflow)
            if machine is None:
                machine = machines[workflow] = StateMachine.from_dict(
                    definitions[workflow].definition, resolver=resolver, name=workflow
                )
            result = run_execution(machine, dict(sample), time_scale=0.0)
            found[workflow].append(result.history())
    return found


def estimate_project(
    project: Project,
    workflow: str | None = None,
    *,
    deployment: str | DeploymentSettings | None = None,
    payloads: int = 1000,
    prices: Prices | None = None,
    samples: Iterable[Mapping[str, Any]] | None = None,
    histories: bool = True,
) -> list[Estimate]:
    """The estimate of every workflow of ``project`` (or of ``workflow`` alone).

    Args:
        project: the project.
        workflow: one workflow, or None for every one the deployment builds.
        deployment: the deployment whose memory and timeouts count (None: the default).
        payloads: how many payloads the costs are for.
        prices: prices and assumptions (None: the shipped file).
        samples: payloads to run once here and measure.
        histories: whether to read the histories kept under the payload root.

    Raises:
        ConfigError: no workflow has that name, or the project does not build.
    """
    from cirrus.aws.build import build_stack

    if payloads < 1:
        raise ConfigError(f"--payloads: {payloads}: must be at least 1")
    shapes = workflow_shapes(build_stack(project, deployment))
    if workflow is not None:
        if workflow not in shapes:
            raise ConfigError(
                f"no workflow named {workflow!r} in {project.root}; known workflows: "
                f"{', '.join(sorted(shapes)) or 'none'}"
            )
        shapes = {workflow: shapes[workflow]}
    prices = prices or load_prices()
    found: dict[str, list[list[dict[str, Any]]]] = {name: [] for name in shapes}
    if histories:
        for name, kept in stored_histories(project.config.payload_root, shapes).items():
            found[name].extend(kept)
    if samples is not None:
        for name, made in run_samples(project, samples, shapes).items():
            found[name].extend(made)
    estimates = []
    for name, shape in sorted(shapes.items()):
        measurement: Measurement | None = measure_histories(found[name]) if found[name] else None
        estimates.append(estimate_workflow(shape, measurement, prices, payloads=payloads))
    return estimates
