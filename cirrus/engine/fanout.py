"""Parallel branches and Map iterations: items, batches, concurrency, tolerated failures.

Graphs without Task states are pure and run in-line, one after another: that is both
the fastest way and indistinguishable in its results. Graphs with tasks run on a thread
pool bounded by ``MaxConcurrency``. A Map's ``ItemReader`` and ``ResultWriter`` read and
write object storage through :mod:`cirrus.engine.objects`.
"""

from __future__ import annotations

import contextvars
import math
import threading
import uuid
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any

from cirrus.engine.errors import (
    EXCEED_TOLERATED_FAILURE_THRESHOLD,
    QUERY_EVALUATION_ERROR,
    RUNTIME,
    StatesError,
)
from cirrus.engine.jsonata_eval import JsonataTemplate, query_error
from cirrus.engine.objects import read_items, write_results
from cirrus.engine.paths import PathMissing, Template, dumps
from cirrus.engine.states import Graph, MapState, ParallelState

if TYPE_CHECKING:
    from cirrus.engine.runner import Execution, Lane

__all__ = ["run_map", "run_parallel"]

# Threads for a Map or Parallel with tasks when MaxConcurrency sets no lower limit.
DEFAULT_WORKERS = 32

_JSON_TYPES = {
    dict: "object",
    list: "array",
    str: "string",
    bool: "boolean",
    type(None): "null",
    int: "number",
    float: "number",
}


def _json_type(value: Any) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


class _Outcome:
    """Result of running one branch or iteration on its own lane."""

    __slots__ = ("cursor", "end_id", "error", "failed_type", "lane", "late", "output", "started")

    def __init__(self, lane: Lane) -> None:
        self.lane = lane
        self.output: Any = None
        self.error: StatesError | None = None
        self.cursor: int | None = None  # the iteration's last state event
        self.end_id = 0  # its MapIteration{Succeeded,Failed} event
        self.started = False
        self.late = False  # it ended after a sibling failed the Map or Parallel
        self.failed_type: str | None = None  # the type of the state it stopped in


# States whose failure leaves them open, so AWS records them aborted when the Map or
# Parallel around them fails (a Fail state ends where it is; a Map or Parallel inside
# records its own failure).
_ABORTABLE = frozenset({"Task", "Pass", "Wait", "Choice", "Succeed"})


def _run_lanes(
    execution: Execution,
    jobs: list[tuple[Graph, Any, Lane]],
    workers: int,
    on_start: Any,
    on_end: Any,
    stop_on_failure: Any,
) -> list[_Outcome]:
    """Run each (graph, input, lane); in-line when ``workers`` is 1, else on threads.

    On threads, the first failure that stops the lot cancels the lanes still running: each
    ends (:class:`~cirrus.engine.runner.LaneAborted`) at its next state or wait.
    """
    from cirrus.engine.runner import Cancel, LaneAborted

    outcomes = [_Outcome(lane) for _, _, lane in jobs]
    cancel: Cancel | None = None
    if workers > 1 and len(jobs) > 1:
        cancel = Cancel(jobs[0][2].cancel)
        for _, _, lane in jobs:
            lane.cancel = cancel

    def run_one(index: int) -> None:
        graph, data, lane = jobs[index]
        outcome = outcomes[index]
        if cancel is not None and cancel.is_set():
            return  # the lot failed before this one began: it never starts
        outcome.started = True
        on_start(index, lane)
        try:
            outcome.output = execution.run_graph(graph, data, lane)
        except StatesError as err:
            outcome.error = err
            outcome.failed_type = _type_of(graph, lane)
        except LaneAborted as aborted:
            if cancel is None or (cancel.parent is not None and cancel.parent.is_set()):
                raise  # an enclosing Map or Parallel failed: this one stops too
            outcome.late = True
            outcome.failed_type = aborted.state_type
            return
        on_end(index, lane, outcome)
        if cancel is not None and outcome.error is not None and stop_on_failure(outcome):
            cancel.set()

    if workers <= 1 or len(jobs) <= 1:
        for index in range(len(jobs)):
            run_one(index)
            if outcomes[index].error is not None and stop_on_failure(outcomes[index]):
                return outcomes[: index + 1]
        return outcomes
    pending: set[Future[None]] = set()
    next_index = 0
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cirrus-map") as pool:
        try:
            while next_index < len(jobs) or pending:
                while next_index < len(jobs) and len(pending) < workers:
                    # each branch runs in the caller's context (whose log its tasks write to)
                    context = contextvars.copy_context()
                    pending.add(pool.submit(context.run, run_one, next_index))
                    next_index += 1
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    future.result()  # re-raise execution stops (abort, timeout)
                if any(o.error is not None and stop_on_failure(o) for o in outcomes[:next_index]):
                    for future in pending:
                        future.cancel()
                    wait(pending)
                    return outcomes[:next_index]
        except BaseException:
            for future in pending:
                future.cancel()
            raise
    return outcomes


def _type_of(graph: Graph, lane: Lane) -> str | None:
    state = graph.states.get(lane.state_name)
    return state.type if state is not None else None


def _abort_events(
    execution: Execution, lane: Lane, failed: _Outcome, outcomes: list[_Outcome], map_name: str
) -> None:
    """What AWS records when a Map or Parallel fails: the failed lane's open state and every
    lane cut short, aborted, each after the failed lane's last state event."""
    cursor = failed.cursor if failed.cursor is not None else failed.lane.last_id

    def record(kind: str, key: str | None = None, details: Any = None) -> None:
        lane.last_id = cursor
        execution.event(lane, kind, key, details)

    if failed.failed_type in _ABORTABLE:
        record(f"{failed.failed_type}StateAborted")
    for index, outcome in enumerate(outcomes):
        if outcome is failed or not outcome.late or not outcome.started:
            continue
        if map_name:
            record(
                "MapIterationAborted",
                "mapIterationAbortedEventDetails",
                {"name": map_name, "index": index},
            )
        if outcome.failed_type in _ABORTABLE:
            record(f"{outcome.failed_type}StateAborted")
    lane.last_id = cursor


def _inline(execution: Execution, graph: Graph) -> bool:
    """Whether a graph's lanes can run one after another without changing anything."""
    return graph.pure and (not graph.waits or execution.time_scale == 0)


def _join_time(lane: Lane, outcomes: list[_Outcome]) -> None:
    """The parent lane's time moves on to the latest child's."""
    for outcome in outcomes:
        lane.offset = max(lane.offset, outcome.lane.offset)


def run_parallel(execution: Execution, state: ParallelState, data: Any, lane: Lane) -> list[Any]:
    """Run every branch on ``data``; the result is the list of branch outputs."""
    execution.event(lane, "ParallelStateStarted", None, None)
    jobs = [(branch, data, lane.child()) for branch in state.branches]
    pure = all(_inline(execution, branch) for branch in state.branches)
    first: list[_Outcome] = []
    lock = threading.Lock()

    def on_end(index: int, child: Lane, outcome: _Outcome) -> None:
        with lock:
            if first:
                outcome.late = True  # a sibling failed first: this one counts as cut short
            elif outcome.error is not None:
                first.append(outcome)

    outcomes = _run_lanes(
        execution,
        jobs,
        1 if pure else len(jobs),
        lambda index, child: None,
        on_end,
        lambda outcome: True,
    )
    _join_time(lane, outcomes)
    failed = first[0] if first else next((o for o in outcomes if o.error is not None), None)
    if failed is not None:
        # The runner records ParallelStateFailed once no Retry applies, as AWS does,
        # after the failed branch's last event.
        failed.cursor = failed.lane.last_id
        _abort_events(execution, lane, failed, outcomes, "")
        assert failed.error is not None
        raise failed.error
    lane.last_id = max((outcome.lane.last_id for outcome in outcomes), default=lane.last_id)
    _succeeded(execution, lane, "ParallelStateSucceeded")
    return [outcome.output for outcome in outcomes]


def _succeeded(execution: Execution, lane: Lane, kind: str) -> None:
    """Record ``kind`` (Map/ParallelStateSucceeded) as AWS does: the state's exit event
    follows what this event follows, not this event."""
    before = lane.last_id
    execution.event(lane, kind, None, None)
    lane.last_id = before


# --------------------------------------------------------------------------- Map


def run_map(execution: Execution, state: MapState, effective: Any, raw: Any, lane: Lane) -> Any:
    """Run the ItemProcessor over the items; the result is the outputs in item order."""
    bindings = lane.bindings({"input": raw, "context": lane.context()}) if state.jsonata else None
    items = _items(execution, state, effective, lane, bindings)
    max_concurrency = int(
        _number(state, "MaxConcurrency", state.max_concurrency, effective, lane, bindings)
    )
    inputs = _batched(state, items, effective, lane)
    execution.event(lane, "MapStateStarted", "mapStateStartedEventDetails", {"length": len(inputs)})
    # AWS reads the tolerated failures once the Map started (MaxConcurrency before)
    tolerated_count = _optional_number(
        state, "ToleratedFailureCount", state.tolerated_count, effective, lane, bindings
    )
    tolerated_percentage = _optional_number(
        state, "ToleratedFailurePercentage", state.tolerated_percentage, effective, lane, bindings
    )
    processor = state.processor
    assert processor is not None
    if state.distributed:
        execution.event(
            lane,
            "MapRunStarted",
            "mapRunStartedEventDetails",
            {"mapRunArn": f"{_map_run_prefix(execution)}/{state.name}:{uuid.uuid4()}"},
        )
    jobs = []
    for index, item in enumerate(inputs):
        child_input = _select(state, index, item, effective, lane, bindings)
        child = lane.child_execution() if state.distributed else lane.child()
        jobs.append((processor, child_input, child))
    if _inline(execution, processor) or max_concurrency == 1:
        workers = 1
    else:
        workers = min(max_concurrency or DEFAULT_WORKERS, DEFAULT_WORKERS, max(len(jobs), 1))
    tolerant = tolerated_count is not None or tolerated_percentage is not None
    total = len(jobs)
    failures = [0]
    lock = threading.Lock()
    # AWS chains the iterations of a Map run one after another: each starts after the
    # last state event of the one before, and the state goes on after the last iteration.
    cursor = [lane.last_id]
    failing: list[_Outcome] = []  # the iteration whose failure failed the Map

    def exceeded() -> bool:
        if not tolerant:
            return failures[0] > 0
        if tolerated_count is not None and failures[0] > tolerated_count:
            return True
        return (
            tolerated_percentage is not None
            and total > 0
            and failures[0] * 100.0 / total > tolerated_percentage
        )

    def on_start(index: int, child: Lane) -> None:
        if state.distributed:
            return  # a child execution: its events are in its own history
        if workers == 1:
            child.last_id = cursor[0]
        execution.event(
            child,
            "MapIterationStarted",
            "mapIterationStartedEventDetails",
            {"name": state.name, "index": index},
        )

    threaded = workers > 1

    def count_failure(outcome: _Outcome) -> bool:
        """Count a failure; whether the Map failed before (this lane was cut short)."""
        if failing:
            outcome.late = True
            return True
        if outcome.error is not None:
            failures[0] += 1
            if exceeded():
                failing.append(outcome)
        return False

    def on_end(index: int, child: Lane, outcome: _Outcome) -> None:
        if threaded:
            with lock:
                if count_failure(outcome):
                    return
        elif count_failure(outcome):
            return
        if state.distributed:
            return
        details = {"name": state.name, "index": index}
        outcome.cursor = cursor[0] = child.last_id  # cursor: for the next one, in-line
        if outcome.error is None:
            execution.event(
                child, "MapIterationSucceeded", "mapIterationSucceededEventDetails", details
            )
        else:
            execution.event(child, "MapIterationFailed", "mapIterationFailedEventDetails", details)
        outcome.end_id = child.last_id

    outcomes = _run_lanes(execution, jobs, workers, on_start, on_end, lambda outcome: exceeded())
    _join_time(lane, outcomes)
    if exceeded():
        failed = failing[0] if failing else next(o for o in outcomes if o.error is not None)
        if state.distributed:
            error = _map_run_error(failed, tolerant)
            details = _error_output(error)
            execution.event(
                lane,
                "MapRunFailed",
                "mapRunFailedEventDetails",
                {key.lower(): value for key, value in details.items()},
            )
            raise error
        # The runner records MapStateFailed once no Retry applies, after the last state
        # event of the iteration that failed.
        _abort_events(execution, lane, failed, outcomes, state.name)
        if not tolerant:
            assert failed.error is not None
            raise failed.error
        raise StatesError(
            EXCEED_TOLERATED_FAILURE_THRESHOLD,
            "The specified tolerated failure threshold was exceeded",
        )
    if state.distributed:
        execution.event(lane, "MapRunSucceeded", None, None)
    else:
        lane.last_id = max((o.end_id for o in outcomes), default=lane.last_id)
    results = [
        outcome.output if outcome.error is None else _error_output(outcome.error)
        for outcome in outcomes
    ]
    if state.result_writer is not None:
        runs = [
            (child_input, outcome.output, outcome.error)
            for (_, child_input, _), outcome in zip(jobs, outcomes, strict=False)
        ]
        output = write_results(execution, state, runs, effective, lane)
        _succeeded(execution, lane, "MapStateSucceeded")
        return output
    _succeeded(execution, lane, "MapStateSucceeded")
    return results


def _map_run_prefix(execution: Execution) -> str:
    return execution.machine_arn.replace(":stateMachine:", ":mapRun:", 1)


def _map_run_error(failed: _Outcome, tolerant: bool) -> StatesError:
    if tolerant or failed.error is None:
        return StatesError(
            EXCEED_TOLERATED_FAILURE_THRESHOLD,
            "The specified tolerated failure threshold was exceeded",
        )
    return failed.error


def _error_output(error: StatesError) -> dict[str, Any]:
    out: dict[str, Any] = {"Error": error.error}
    if error.cause is not None:
        out["Cause"] = error.cause
    return out


def _items(
    execution: Execution,
    state: MapState,
    effective: Any,
    lane: Lane,
    bindings: dict[str, Any] | None,
) -> list[Any]:
    if state.item_reader is not None:
        items = read_items(execution, state, effective, lane)
    elif state.jsonata:
        if state.items is None:
            items = effective
            if not isinstance(items, list):
                raise StatesError(
                    QUERY_EVALUATION_ERROR,
                    f"Map state input must be an array but was: {dumps(items)}",
                )
            return items
        items = state.items.evaluate(bindings or {})
        if not isinstance(items, list):
            source = state.items.source
            expression = source[2:-2].strip() if isinstance(source, str) else dumps(source)
            raise query_error(
                f"The JSONata expression '{expression}' specified for the field 'Items' "
                f"returned an unexpected result type. Expected 'array', but was "
                f"'{_json_type(items)}' for value: {dumps(items)}",
                "Items",
            )
        return items
    elif state.items_path is not None:
        try:
            items = state.items_path(effective, lane)
        except PathMissing:
            raise StatesError(
                RUNTIME,
                f"Invalid path '{state.items_text}' : "
                f"No results for path: $['{state.items_text[2:]}']",
            ) from None
    else:
        items = effective
    if not isinstance(items, list):
        raise StatesError(RUNTIME, f"Map state input must be an array but was: {_json_type(items)}")
    return items


def _number(
    state: MapState,
    key: str,
    static: float,
    effective: Any,
    lane: Lane,
    bindings: dict[str, Any] | None,
) -> float:
    value = _optional_number(state, key, static, effective, lane, bindings)
    return static if value is None else value


def _optional_number(
    state: MapState,
    key: str,
    static: float | None,
    effective: Any,
    lane: Lane,
    bindings: dict[str, Any] | None,
) -> float | None:
    dynamic = state.dynamic.get(key)
    if dynamic is None:
        return static
    if isinstance(dynamic, JsonataTemplate):
        value = dynamic.evaluate(bindings or {})
    else:
        try:
            value = dynamic(effective, lane)
        except PathMissing as missing:
            raise StatesError(
                RUNTIME,
                f"Invalid path '{missing.path}' : No results for path: $['{missing.path[2:]}']",
            ) from None
    return _checked_number(key, value, state.dynamic_paths.get(key))


# What each Map number must be, as AWS words it: MaxConcurrency and ToleratedFailureCount
# are integers, ToleratedFailurePercentage a float; a string holding one is read as one.
_INTEGER_FIELDS = frozenset({"MaxConcurrency", "ToleratedFailureCount"})


def _checked_number(key: str, value: Any, where: str | None) -> float:
    number = _as_number(value, integer=key in _INTEGER_FIELDS)
    if number is None:
        shown = value if isinstance(value, str) else dumps(value)
        kind = "integer" if key in _INTEGER_FIELDS else "float"
        if where is None:
            raise StatesError(
                RUNTIME, f'The {key} field refers to value "{shown}" which is not a valid {kind}'
            )
        raise StatesError(
            RUNTIME,
            f'The {key}Path field refers to value "{shown}" which is not a valid {kind}: {where}',
        )
    if key == "ToleratedFailurePercentage":
        if not 0 <= number <= 100:
            raise StatesError(RUNTIME, "ToleratedFailurePercentage must be between 0 and 100.")
    elif number < 0:
        raise StatesError(RUNTIME, f"{key} cannot be negative.")
    return number


def _as_number(value: Any, *, integer: bool) -> float | None:
    """``value`` as a number (a numeric string too), or None when it is not one."""
    if isinstance(value, str):
        text = value.strip()
        try:
            value = int(text) if integer else float(text)
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if integer and isinstance(value, float) and not value.is_integer():
        return None
    return float(value)


def _select(
    state: MapState,
    index: int,
    item: Any,
    effective: Any,
    lane: Lane,
    bindings: dict[str, Any] | None,
) -> Any:
    selector = state.item_selector
    if selector is None:
        return item
    lane.map_item = {"Index": index, "Value": item}
    try:
        if isinstance(selector, JsonataTemplate):
            context = lane.context()
            states = dict((bindings or {}).get("states", {}))
            states["context"] = context
            local = dict(bindings or {})
            local["states"] = states
            return selector.evaluate(local)
        assert isinstance(selector, Template)
        return selector.evaluate(effective, lane)
    finally:
        lane.map_item = None


def _batched(state: MapState, items: list[Any], effective: Any, lane: Lane) -> list[Any]:
    batcher = state.item_batcher
    if batcher is None:
        return items
    max_items = batcher.get("MaxItemsPerBatch")
    max_bytes = batcher.get("MaxInputBytesPerBatch")
    base = batcher.get("BatchInput", {})
    if isinstance(base, dict) and any(key.endswith(".$") for key in base):
        from cirrus.engine.paths import compile_template

        base = compile_template(base, field="BatchInput").evaluate(effective, lane)
    limit = int(max_items) if isinstance(max_items, int) and max_items > 0 else math.inf
    byte_limit = int(max_bytes) if isinstance(max_bytes, int) and max_bytes > 0 else math.inf
    batches: list[Any] = []
    current: list[Any] = []
    size = 0
    for item in items:
        item_size = len(dumps(item).encode("utf-8"))
        if current and (len(current) >= limit or size + item_size > byte_limit):
            batches.append(current)
            current, size = [], 0
        current.append(item)
        size += item_size
    if current:
        batches.append(current)
    if "BatchInput" in batcher:
        return [{"BatchInput": base, "Items": batch} for batch in batches]
    return [{"Items": batch} for batch in batches]
