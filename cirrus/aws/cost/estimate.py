"""The arithmetic of a cost estimate: a built workflow, what was measured, and prices.

Pure functions: nothing here reads files or runs anything. Every line of an
:class:`Estimate` is ``quantity per payload x unit price``, and says which of its inputs
were measured (a local run's history) and which assumed (the price file's
``assumptions``, the build, or the pipeline's design)::

    estimate = estimate_workflow(shape, measurement, prices, payloads=1000)
    estimate.total("standard"), estimate.total("express")
    [line.to_dict() for line in estimate.lines]

The formulas (docs/aws.md, "Cost"):

- Lambda: ``attempts x ceil(ms / increment) x increment / 1000 x MB / 1024`` GB-seconds at
  the architecture's price, plus ``attempts`` requests.
- Fargate: ``attempts x max(minimum, ceil(seconds))`` seconds, times vCPUs (vCPU-seconds)
  and times MB / 1024 (GB-seconds), at the hourly prices / 3600.
- Step Functions Standard: transitions (states entered, retries included; a batch group
  is 4 states on AWS where a local run enters 1) x price per transition.
- Step Functions Express: 1 request, plus ``ceil(ms / 100) x 100 / 1000`` seconds x
  ``ceil(MB / 64) x 64 / 1024`` GB.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cirrus.aws.cost.shape import BATCH, LAMBDA

if TYPE_CHECKING:
    from cirrus.aws.cost.measure import Measurement
    from cirrus.aws.cost.prices import Prices
    from cirrus.aws.cost.shape import Step, WorkflowShape

__all__ = ["HOW_TO_MEASURE", "Estimate", "Line", "estimate_workflow"]

HOW_TO_MEASURE = (
    "no execution history of {workflow} was found: to measure, set `keep_history: all` in "
    "cirrus.yml (or CIRRUS_KEEP_HISTORY=all) and run `cirrus process` on sample payloads, "
    "or pass them with `cirrus cost --sample FILE`"
)
MEASURED_HERE = (
    "durations were measured on this machine: Lambda gives a function CPU in proportion to "
    "its memory (one vCPU at 1,769 MB), so a task may run faster or slower there"
)
BOTH, STANDARD, EXPRESS = "both", "standard", "express"
PUBLISH_FUNCTION = "PublishTaskFunction"


def _round(value: float | None) -> float | None:
    """``value`` to 12 significant digits: the float noise of the arithmetic left out."""
    return None if value is None else float(f"{value:.12g}")


@dataclass(frozen=True)
class Line:
    """One priced quantity of a workflow.

    Attributes:
        service: the AWS service (``Lambda``, ``Step Functions``, ...).
        item: what is counted.
        quantity: per payload.
        unit: of ``quantity``.
        unit_price: USD per unit (None: not priced).
        measured: the inputs that were measured.
        assumed: the inputs that were assumed.
        option: ``both``, or ``standard``/``express`` for a line of one workflow type only.
        note: a word on the figure.
    """

    service: str
    item: str
    quantity: float
    unit: str
    unit_price: float | None
    measured: tuple[str, ...] = ()
    assumed: tuple[str, ...] = ()
    option: str = BOTH
    note: str = ""

    @property
    def cost(self) -> float | None:
        """USD per payload (None: not priced)."""
        return None if self.unit_price is None else self.quantity * self.unit_price

    @property
    def basis(self) -> str:
        """``measured``, ``assumed``, ``mixed``, or ``exact`` (a fixed count)."""
        if self.measured and self.assumed:
            return "mixed"
        if not self.measured and not self.assumed:
            return "exact"
        return "measured" if self.measured else "assumed"

    def to_dict(self, payloads: int) -> dict[str, Any]:
        """The line for a report: quantity and cost per ``payloads`` payloads too."""
        cost = self.cost
        return {
            "service": self.service,
            "item": self.item,
            "option": self.option,
            "per_payload": _round(self.quantity),
            "quantity": _round(self.quantity * payloads),
            "unit": self.unit,
            "unit_price": self.unit_price,
            "cost": None if cost is None else _round(cost * payloads),
            "basis": self.basis,
            "measured": list(self.measured),
            "assumed": list(self.assumed),
            "note": self.note,
        }


@dataclass
class Estimate:
    """The cost of one workflow per ``payloads`` payloads.

    Attributes:
        workflow: the workflow.
        payloads: how many payloads the costs are for.
        executions_measured: how many histories the measurements come from (0: none).
        express_ok: whether the workflow could run as Express.
        lines: every priced quantity.
        notes: what the estimate leaves out or how to measure it.
    """

    workflow: str
    payloads: int
    executions_measured: int
    express_ok: bool
    lines: list[Line] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def total(self, option: str = STANDARD) -> float | None:
        """USD per ``payloads`` payloads as a Standard or Express workflow (None: Express
        is not possible)."""
        if option == EXPRESS and not self.express_ok:
            return None
        cost = sum(line.cost or 0.0 for line in self.lines if line.option in (BOTH, option))
        return cost * self.payloads

    def to_dict(self) -> dict[str, Any]:
        """The estimate as plain data (the ``--json`` output)."""
        return {
            "workflow": self.workflow,
            "payloads": self.payloads,
            "measured": self.executions_measured > 0,
            "executions_measured": self.executions_measured,
            "total": {
                STANDARD: _round(self.total(STANDARD)),
                EXPRESS: _round(self.total(EXPRESS)),
            },
            "lines": [line.to_dict(self.payloads) for line in self.lines],
            "notes": list(self.notes),
        }


def _billed(seconds: list[float], increment_ms: float) -> float:
    """Mean billed milliseconds of attempts lasting ``seconds``, rounded up per attempt."""
    return sum(math.ceil(s * 1000 / increment_ms) * increment_ms for s in seconds) / len(seconds)


def _once(step: Step) -> float:
    """Assumed runs of a step per execution: once on the main path, else never."""
    return 1.0 if step.on_path else 0.0


class _Lines:
    def __init__(self, shape: WorkflowShape, measurement: Measurement | None, prices: Prices):
        self.shape = shape
        self.measurement = measurement if measurement and measurement.executions else None
        self.prices = prices
        self.lines: list[Line] = []
        self.notes: list[str] = []

    def add(self, *args: Any, **kwargs: Any) -> None:
        self.lines.append(Line(*args, **kwargs))

    def lambda_lines(
        self,
        label: str,
        memory_mb: float,
        architecture: str,
        attempts: tuple[float, str | None],
        billed_ms: tuple[float, str | None],
    ) -> None:
        """GB-seconds and requests of one function; ``(value, measured name or None)``."""
        count, count_measured = attempts
        ms, ms_measured = billed_ms
        measured = tuple(n for n in (count_measured, ms_measured) if n)
        assumed = tuple(
            n for n, m in (("invocations", count_measured), ("duration", ms_measured)) if m is None
        )
        price = self.prices.price("lambda", f"per_gb_second_{architecture}")
        self.add(
            "Lambda",
            f"{label}: GB-seconds ({memory_mb:g} MB x {ms:g} ms billed)",
            count * ms / 1000 * memory_mb / 1024,
            "GB-second",
            price,
            measured,
            assumed,
        )
        self.add(
            "Lambda",
            f"{label}: requests",
            count,
            "request",
            self.prices.price("lambda", "per_request"),
            tuple(n for n in (count_measured,) if n),
            () if count_measured else ("invocations",),
        )

    def task_step(self, step: Step) -> None:
        m = self.measurement
        increment = self.prices.price("lambda", "duration_increment_ms")
        times = m.states.get(step.local_state) if m else None
        if step.kind == LAMBDA and step.role == "task":
            if m is not None:
                attempts: tuple[float, str | None] = (m.attempts(step.local_state), "invocations")
            else:
                attempts = (_once(step), None)
            if times and times.seconds:
                billed: tuple[float, str | None] = (_billed(times.seconds, increment), "duration")
            else:
                billed = (self._assumed_ms("lambda_task_ms", increment), None)
            self.lambda_lines(step.state, step.memory_mb, step.architecture, attempts, billed)
        elif step.kind == LAMBDA:  # pre-batch, post-batch
            entries = (m.entries(step.local_state), "invocations") if m else (_once(step), None)
            billed = (self._assumed_ms("batch_helper_ms", increment), None)
            label = f"{step.local_state} ({step.role})"
            self.lambda_lines(label, step.memory_mb, step.architecture, entries, billed)
        elif step.kind == BATCH:
            self.batch_step(step, times)
        else:
            self.add(
                "other",
                f"{step.state}: {step.resource}",
                m.entries(step.local_state) if m else _once(step),
                "call",
                None,
                ("calls",) if m else (),
                () if m else ("calls",),
                note="a service integration cirrus does not price",
            )

    def _assumed_ms(self, name: str, increment: float) -> float:
        return math.ceil(self.prices.assumption(name) / increment) * increment

    def batch_step(self, step: Step, times: Any) -> None:
        m = self.measurement
        minimum = self.prices.price("fargate", "minimum_seconds")
        if times and times.seconds:
            seconds = sum(max(minimum, math.ceil(s)) for s in times.seconds) / len(times.seconds)
            measured: tuple[str, ...] = ("duration",)
        else:
            seconds = max(minimum, math.ceil(self.prices.assumption("batch_task_seconds")))
            measured = ()
        attempts = m.attempts(step.local_state) if m else _once(step)
        if m:
            measured = (*measured, "jobs")
        assumed = tuple(n for n in ("duration", "jobs") if n not in measured)
        spot = "spot_" if step.capacity == "FARGATE_SPOT" else ""
        fargate = step.capacity.startswith("FARGATE")
        note = "" if fargate else "EC2 compute environments are billed per instance: not priced"
        label = f"{step.state} ({step.capacity.lower()}, {seconds:g} s billed)"
        vcpu_price = (
            self.prices.price("fargate", f"{spot}per_vcpu_hour") / 3600 if fargate else None
        )
        gb_price = self.prices.price("fargate", f"{spot}per_gb_hour") / 3600 if fargate else None
        self.add(
            "Batch",
            f"{label}: vCPU-seconds ({step.vcpu:g} vCPU)",
            attempts * seconds * step.vcpu,
            "vCPU-second",
            vcpu_price,
            measured,
            assumed,
            note=note,
        )
        self.add(
            "Batch",
            f"{label}: GB-seconds ({step.memory_mb:g} MB)",
            attempts * seconds * step.memory_mb / 1024,
            "GB-second",
            gb_price,
            measured,
            assumed,
            note=note,
        )

    def step_functions(self) -> None:
        m = self.measurement
        measured: tuple[str, ...]
        assumed: tuple[str, ...]
        shape = self.shape
        if m is not None:
            groups = sum(m.entries(name) for name in shape.batch_groups)
            transitions = m.transitions + 3 * groups
            measured, assumed = ("transitions",), ()
            note = "states entered, retries included" + (
                "; each batch group adds 3 (pre-batch, job, post-batch)" if groups else ""
            )
        else:
            transitions = float(shape.path_transitions)
            measured, assumed = (), ("transitions",)
            note = "each state of the main path entered once (a Map: one item)"
        self.add(
            "Step Functions",
            "Standard: state transitions",
            transitions,
            "transition",
            self.prices.price("step_functions", "standard_per_transition"),
            measured,
            assumed,
            STANDARD,
            note,
        )
        if not shape.express_ok:
            self.notes.append(
                f"{shape.name} cannot run as an Express workflow: it waits for Batch jobs "
                "(.sync), which Express does not support"
            )
            return
        self.add(
            "Step Functions",
            "Express: requests",
            1.0,
            "request",
            self.prices.price("step_functions", "express_per_request"),
            (),
            (),
            EXPRESS,
            "one per execution",
        )
        chunk = self.prices.price("step_functions", "express_memory_chunk_mb")
        increment = self.prices.price("step_functions", "express_duration_increment_ms")
        gb = math.ceil(self.prices.assumption("express_memory_mb") / chunk) * chunk / 1024
        if m is not None:
            ms = math.ceil(m.seconds * 1000 / increment) * increment
            measured, assumed = ("duration",), ("memory",)
        else:
            task_ms = self.prices.assumption("lambda_task_ms")
            ms = (
                math.ceil(
                    sum(task_ms for s in shape.steps if s.kind == LAMBDA and s.on_path) / increment
                )
                * increment
            )
            measured, assumed = (), ("duration", "memory")
        self.add(
            "Step Functions",
            f"Express: GB-seconds ({gb * 1024:g} MB, {ms:g} ms billed)",
            ms / 1000 * gb,
            "GB-second",
            self.prices.price("step_functions", "express_per_gb_second"),
            measured,
            assumed,
            EXPRESS,
        )

    def pipeline(self) -> None:
        increment = self.prices.price("lambda", "duration_increment_ms")
        memory, architecture = self.shape.pipeline.get("process", (256.0, "x86_64"))
        per_invocation = self.prices.assumption("process_payloads_per_invocation")
        self.lambda_lines(
            "process",
            memory,
            architecture,
            (1 / per_invocation, None),
            (self._assumed_ms("process_ms", increment), None),
        )
        memory, architecture = self.shape.pipeline.get("update-state", (256.0, "x86_64"))
        self.lambda_lines(
            "update-state",
            memory,
            architecture,
            (1.0, None),
            (self._assumed_ms("update_state_ms", increment), None),
        )

    def requests(self) -> None:
        p, m, shape = self.prices, self.measurement, self.shape
        items = m.items if m is not None and m.items is not None else None
        item_count = items if items is not None else p.assumption("items_per_payload")
        item_basis = ("items",) if items is not None else ()
        item_assumed = () if items is not None else ("items",)
        self.add(
            "SQS",
            "requests (send, receive, delete)",
            p.assumption("sqs_requests_per_payload"),
            "request",
            p.price("sqs", "per_request"),
            (),
            ("requests",),
        )
        per_request = p.assumption("sns_items_per_request")
        self.add(
            "SNS",
            "publish requests (workflow events + items)",
            p.assumption("sns_event_requests_per_payload") + math.ceil(item_count / per_request),
            "request",
            p.price("sns", "per_publish_request"),
            item_basis,
            (*item_assumed, "requests per message"),
            note="deliveries to SQS and Lambda subscribers are free",
        )
        self.add(
            "DynamoDB",
            "write request units",
            p.assumption("dynamodb_write_units_per_payload"),
            "WRU",
            p.price("dynamodb", "per_write_request_unit"),
            (),
            ("units",),
        )
        self.add(
            "DynamoDB",
            "read request units",
            p.assumption("dynamodb_read_units_per_payload"),
            "RRU",
            p.price("dynamodb", "per_read_request_unit"),
            (),
            ("units",),
        )
        tasks = [
            s for s in shape.steps if s.role == "task" and s.kind in (LAMBDA, BATCH) and s.on_path
        ]
        writers = [s for s in tasks if s.resource != PUBLISH_FUNCTION]
        publishes = any(s.resource == PUBLISH_FUNCTION for s in tasks)
        groups = len(shape.batch_groups)
        asset_measured: tuple[str, ...]
        asset_assumed: tuple[str, ...]
        if m is not None and m.new_assets is not None:
            assets, asset_measured, asset_assumed = m.new_assets, ("assets",), ()
        else:
            assets, asset_measured, asset_assumed = float(len(writers)), (), ("assets",)
        puts = (
            p.assumption("s3_pipeline_puts_per_payload")
            + assets
            + (item_count if publishes else 0.0)
            + groups * p.assumption("s3_batch_puts")
        )
        self.add(
            "S3",
            "PUT requests (payloads, assets, items)",
            puts,
            "request",
            p.price("s3", "per_put_request"),
            (*asset_measured, *(item_basis if publishes else ())),
            ("payloads", *asset_assumed, *(item_assumed if publishes else ())),
        )
        gets = len(tasks) * p.assumption("s3_gets_per_task") + groups * p.assumption(
            "s3_batch_gets"
        )
        self.add(
            "S3",
            "GET requests (task inputs)",
            gets,
            "request",
            p.price("s3", "per_get_request"),
            (),
            ("requests",),
        )


def estimate_workflow(
    shape: WorkflowShape,
    measurement: Measurement | None,
    prices: Prices,
    *,
    payloads: int = 1000,
) -> Estimate:
    """The cost of ``payloads`` payloads of one workflow.

    Args:
        shape: the workflow as built (:func:`~cirrus.aws.cost.workflow_shapes`).
        measurement: what its local executions measured, or None to assume everything.
        prices: prices and assumptions (:func:`~cirrus.aws.cost.load_prices`).
        payloads: how many payloads the totals are for.
    """
    lines = _Lines(shape, measurement, prices)
    lines.step_functions()
    for step in shape.steps:
        lines.task_step(step)
    lines.pipeline()
    lines.requests()
    measured = lines.measurement.executions if lines.measurement else 0
    notes = lines.notes
    if not measured:
        notes.insert(0, HOW_TO_MEASURE.format(workflow=shape.name))
    else:
        notes.insert(0, MEASURED_HERE)
    notes.append(
        "not included: free tiers, data transfer, storage, CloudWatch Logs, NAT and EC2 "
        "instances; EventBridge delivers Step Functions status events free"
    )
    return Estimate(shape.name, payloads, measured, shape.express_ok, lines.lines, notes)
