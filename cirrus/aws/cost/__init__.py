"""What a workflow will cost on AWS, per 1,000 payloads, before it is deployed.

From the build (memory of every function, vCPUs and memory of every Batch job, which
states a workflow has) and from local runs (state transitions, task durations and items
from execution histories), priced with a data file of AWS list prices::

    from cirrus.aws.cost import estimate_project, load_prices
    from cirrus.project import Project

    for estimate in estimate_project(Project("."), payloads=1000):
        print(estimate.workflow, estimate.total("standard"), estimate.total("express"))

Every line says which of its numbers were measured and which assumed. See docs/aws.md,
"Cost".
"""

from __future__ import annotations

from cirrus.aws.cost.collect import estimate_project, run_samples, stored_histories
from cirrus.aws.cost.estimate import HOW_TO_MEASURE, Estimate, Line, estimate_workflow
from cirrus.aws.cost.measure import Measurement, StateTimes, measure_histories
from cirrus.aws.cost.prices import PRICES_FILE, Prices, load_prices
from cirrus.aws.cost.shape import Step, WorkflowShape, workflow_shapes

__all__ = [
    "HOW_TO_MEASURE",
    "PRICES_FILE",
    "Estimate",
    "Line",
    "Measurement",
    "Prices",
    "StateTimes",
    "Step",
    "WorkflowShape",
    "estimate_project",
    "estimate_workflow",
    "load_prices",
    "measure_histories",
    "run_samples",
    "stored_histories",
    "workflow_shapes",
]
