"""Drive an execution: walk the states, retry and catch, keep AWS-style history.

:func:`run_execution` runs a :class:`~cirrus.engine.definition.StateMachine` on an input
and returns an :class:`ExecutionResult`; :class:`Execution` is the same with an
:meth:`Execution.abort` hook for another thread::

    result = run_execution(machine, {"n": 1}, time_scale=0)
    result.status, result.output, result.error, result.cause

Time: Wait states and Retry back-offs sleep ``seconds * time_scale`` on the clock (0 makes
them instant) while the execution's own timeline, used for history timestamps,
``Timestamp`` waits and the execution ``TimeoutSeconds``, advances by the full amount.
"""

from __future__ import annotations

import contextvars
import itertools
import random
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from cirrus.engine import continuation, transitions
from cirrus.engine.callback_tasks import run_callback_task
from cirrus.engine.callbacks import LOCAL_TOKENS, TaskTokens
from cirrus.engine.clocks import Clock, SystemClock
from cirrus.engine.definition import StateMachine
from cirrus.engine.errors import (
    DECORATED_ERRORS,
    QUERY_EVALUATION_ERROR,
    RUNTIME,
    TIMEOUT,
    StatesError,
    TaskFailure,
)
from cirrus.engine.limits import data_limit_exceeded, result_too_large
from cirrus.engine.objects import ObjectIO
from cirrus.engine.results import (
    EventRecord,
    ExecutionResult,
    ExecutionStatus,
    event_dict,
    iso_time,
)
from cirrus.engine.retry import backoff_delay, find_catcher, find_retrier
from cirrus.engine.states import Graph, State, TaskState
from cirrus.engine.task_io import TaskTimedOut as _TaskTimedOut
from cirrus.engine.task_io import copy_json as _copy_json
from cirrus.engine.task_io import error_details as _error_details
from cirrus.errors import DefinitionError, TaskError

__all__ = ["Cancel", "Execution", "Lane", "LaneAborted", "Scope", "run_execution"]


class _Stop(Exception):
    def __init__(
        self,
        status: ExecutionStatus,
        error: str | None,
        cause: str | None,
        final_id: int | None = None,
    ) -> None:
        super().__init__(status)
        self.status = status
        self.error = error
        self.cause = cause
        self.final_id = final_id  # the id the last event takes (the history is full)


class LaneAborted(Exception):
    """A branch or iteration stops because a sibling failed its Map or Parallel.

    Attributes:
        state_type: the type of the state it stopped in, None between states.
    """

    state_type: str | None = None


class Cancel:
    """Set when the lanes of a Map or Parallel should stop (a sibling failed it); a lane
    also stops when an enclosing Map or Parallel is cancelled."""

    __slots__ = ("event", "parent")

    def __init__(self, parent: Cancel | None = None) -> None:
        self.event = threading.Event()
        self.parent = parent

    def set(self) -> None:
        """Stop the lanes."""
        self.event.set()

    def is_set(self) -> bool:
        """Whether these lanes, or enclosing ones, were stopped."""
        cancel: Cancel | None = self
        while cancel is not None:
            if cancel.event.is_set():
                return True
            cancel = cancel.parent
        return False


class Scope:
    """Variables visible to one lane: its own, then its parents' (read-only)."""

    __slots__ = ("parent", "vars")

    def __init__(self, parent: Scope | None = None) -> None:
        self.parent = parent
        self.vars: dict[str, Any] = {}

    def lookup(self, name: str) -> Any:
        scope: Scope | None = self
        while scope is not None:
            if name in scope.vars:
                return scope.vars[name]
            scope = scope.parent
        raise KeyError(name)

    def flat(self) -> dict[str, Any]:
        chain = []
        scope: Scope | None = self
        while scope is not None:
            chain.append(scope.vars)
            scope = scope.parent
        out: dict[str, Any] = {}
        for variables in reversed(chain):
            out.update(variables)
        return out


class Lane:
    """One thread of control: the execution, a Parallel branch or a Map iteration.

    Implements the :class:`~cirrus.engine.paths.Env` that compiled paths read.
    """

    __slots__ = (
        "cancel",
        "entered_time",
        "execution",
        "ids",
        "last_id",
        "map_item",
        "offset",
        "resume",
        "retry_count",
        "scope",
        "sink",
        "state_input",
        "state_name",
        "task_token",
    )

    def __init__(self, execution: Execution, scope: Scope, offset: float, last_id: int) -> None:
        self.execution = execution
        # where this lane's history events go, numbered by `ids`: the execution's own, or
        # the history of a distributed Map's child execution
        self.sink = execution.records
        self.ids = execution._ids
        self.cancel: Cancel | None = None  # set by a Map or Parallel whose lanes must stop
        self.scope = scope
        self.offset = offset
        self.last_id = last_id
        self.map_item: dict[str, Any] | None = None
        self.state_name = ""
        self.entered_time = 0.0
        self.retry_count = 0
        self.task_token: str | None = None
        self.state_input: Any = None  # a waiting Task state's input, for a snapshot
        self.resume: dict[str, Any] | None = None  # the snapshot a resumed lane continues

    def now(self) -> float:
        """The lane's time on the execution timeline."""
        return self.execution.clock.now() + self.offset

    def child(self) -> Lane:
        """A lane for a branch or iteration: new variable scope, same time, same history."""
        lane = Lane(self.execution, Scope(self.scope), self.offset, self.last_id)
        lane.sink, lane.ids, lane.cancel = self.sink, self.ids, self.cancel
        return lane

    def child_execution(self) -> Lane:
        """A lane for a distributed Map's child execution: a history of its own."""
        lane = Lane(self.execution, Scope(self.scope), self.offset, 0)
        lane.sink, lane.ids, lane.cancel = [], itertools.count(1), self.cancel
        return lane

    def context(self) -> dict[str, Any]:
        """The context object ``$$``."""
        execution = self.execution
        context: dict[str, Any] = {
            "Execution": execution.context_execution,
            "State": {
                "EnteredTime": iso_time(self.entered_time),
                "Name": self.state_name,
                "RetryCount": self.retry_count,
            },
            "StateMachine": execution.context_machine,
            "Task": {"Token": self.task_token},
        }
        if self.map_item is not None:
            context["Map"] = {"Item": self.map_item}
        return context

    def lookup(self, name: str) -> Any:
        """A variable's value."""
        return self.scope.lookup(name)

    def bindings(self, states: dict[str, Any]) -> dict[str, Any]:
        """JSONata bindings: every visible variable plus ``$states``."""
        bindings = self.scope.flat()
        bindings["states"] = states
        return bindings


MAX_HISTORY_EVENTS = 25_000
"""AWS's limit on the events of one execution's history."""

_STOP_EVENTS = {
    ExecutionStatus.TIMED_OUT: ("ExecutionTimedOut", "executionTimedOutEventDetails"),
    ExecutionStatus.ABORTED: ("ExecutionAborted", "executionAbortedEventDetails"),
    ExecutionStatus.FAILED: ("ExecutionFailed", "executionFailedEventDetails"),
}
_FINAL_EVENTS = frozenset(kind for kind, _ in _STOP_EVENTS.values()) | {"ExecutionSucceeded"}

_FAN_OUT = {"Map": "MapStateFailed", "Parallel": "ParallelStateFailed"}

_ENTERED = {
    kind: f"{kind}StateEntered"
    for kind in ("Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map")
}
_EXITED = {kind: f"{kind}StateExited" for kind in _ENTERED}


class Execution:
    """One run of a state machine on an input.

    Args:
        machine: the loaded definition.
        input: the execution input (any JSON value).
        name: the execution name (a UUID by default).
        time_scale: multiplies Wait and Retry sleeps; 0 makes them instant.
        clock: where time comes from; the real clock by default.
        object_io: object storage for Map ItemReader/ResultWriter.
        seed: seeds retry jitter and nothing else, for reproducible runs.
        max_history_events: the execution fails, as on AWS, when its history would hold
            more events (25,000); None for no limit.
        tokens: where ``.waitForTaskToken`` states wait for their answers (the in-process
            :data:`~cirrus.engine.callbacks.LOCAL_TOKENS` by default).
        on_wait: called with a snapshot (plain JSON) when a top-level Task state starts
            waiting for its token; :meth:`resume` continues from it in another process.
    """

    def __init__(
        self,
        machine: StateMachine,
        input: Any = None,
        *,
        name: str | None = None,
        time_scale: float = 1.0,
        clock: Clock | None = None,
        object_io: ObjectIO | None = None,
        seed: int | None = None,
        max_history_events: int | None = MAX_HISTORY_EVENTS,
        tokens: TaskTokens | None = None,
        on_wait: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        if time_scale < 0:
            raise ValueError("time_scale must be >= 0")
        self.machine = machine
        self.input = {} if input is None else input
        self.name = name or str(uuid.uuid4())
        self.time_scale = time_scale
        self.clock: Clock = clock or SystemClock()
        self.object_io = object_io
        self._seed = seed
        self._rng: random.Random | None = None
        self.records: list[EventRecord] = []
        self.transitions = 0
        self.status = ExecutionStatus.RUNNING
        self._ids = itertools.count(1)
        self._history_limit = max_history_events or float("inf")
        self.tokens: TaskTokens = tokens or LOCAL_TOKENS
        self.on_wait = on_wait
        self._resume: dict[str, Any] | None = None
        self.failed_at: tuple[str, Any, Lane] | None = None
        """The top-level state that failed, its input and lane (for a redrive point)."""
        self.redrive_count = 0
        self._aborted = False
        self._abort_event: threading.Event | None = None
        self._abort_error: tuple[str | None, str | None] = (None, None)
        region, account = "us-east-1", "123456789012"
        machine_arn = f"arn:aws:states:{region}:{account}:stateMachine:{machine.name}"
        self.execution_arn = (
            f"arn:aws:states:{region}:{account}:execution:{machine.name}:{self.name}"
        )
        self.machine_arn = machine_arn
        self.start_time = self.clock.now()
        self.deadline = (
            self.start_time + machine.timeout_seconds if machine.timeout_seconds else None
        )
        self.role_arn = f"arn:aws:iam::{account}:role/cirrus-local"
        self._context_execution: dict[str, Any] | None = None
        self.context_machine = {"Id": machine_arn, "Name": machine.name}

    # Random numbers, the abort event and the context object are made on first use: most
    # executions never retry with jitter, sleep or read ``$$``, and making them costs
    # more than a small Task state.

    @property
    def rng(self) -> random.Random:
        """The random numbers for retry jitter (seeded with ``seed``)."""
        if self._rng is None:
            self._rng = random.Random(self._seed)  # noqa: S311 - jitter only
        return self._rng

    @property
    def abort_event(self) -> threading.Event:
        """Set when the execution is aborted; sleeps wait on it."""
        if self._abort_event is None:
            with _ABORT_EVENT_LOCK:
                if self._abort_event is None:
                    self._abort_event = threading.Event()
        return self._abort_event

    @property
    def context_execution(self) -> dict[str, Any]:
        """``$$.Execution``."""
        if self._context_execution is None:
            self._context_execution = {
                "Id": self.execution_arn,
                "Input": self.input,
                "Name": self.name,
                "RoleArn": self.role_arn,
                "StartTime": iso_time(self.start_time),
                "RedriveCount": self.redrive_count,
            }
        return self._context_execution

    # ------------------------------------------------------------------ public

    def abort(self, error: str | None = None, cause: str | None = None) -> None:
        """Stop the execution as soon as possible; it ends ABORTED."""
        self._abort_error = (error, cause)
        self._aborted = True
        self.abort_event.set()

    def run(self) -> ExecutionResult:
        """Run to the end (from the snapshot, when resumed) and return the result."""
        if self._resume is not None:
            lane = continuation.restored_lane(self, self._resume)
            if self._resume.get("redrive"):
                self.event(
                    lane,
                    "ExecutionRedriven",
                    "executionRedrivenEventDetails",
                    {"redriveCount": self.redrive_count},
                )
        else:
            lane = Lane(self, Scope(), 0.0, 0)
            self.event(
                lane,
                "ExecutionStarted",
                "executionStartedEventDetails",
                {
                    "input": self.input,
                    "roleArn": self.role_arn,
                    "stateMachineArn": self.machine_arn,
                },
            )
            lane.last_id = 0  # AWS: the first state entered follows no event
        output: Any = None
        error: str | None = None
        cause: str | None = None
        try:
            if self._resume is not None:
                output = self._go_on(lane, self._resume)
            else:
                output = self.run_graph(self.machine.graph, self.input, lane)
            self.status = ExecutionStatus.SUCCEEDED
            self.event(
                lane, "ExecutionSucceeded", "executionSucceededEventDetails", {"output": output}
            )
        except StatesError as err:
            self.status = ExecutionStatus.FAILED
            error, cause = err.error or None, err.cause  # a Fail state may give no Error
            self.event(
                lane, "ExecutionFailed", "executionFailedEventDetails", _error_details(error, cause)
            )
        except _Stop as stop:
            self.status = stop.status
            error, cause = stop.error, stop.cause
            kind, key = _STOP_EVENTS[stop.status]
            self.event(lane, kind, key, _error_details(error, cause), stop.final_id)
        return ExecutionResult(
            status=self.status,
            output=output if self.status is ExecutionStatus.SUCCEEDED else None,
            error=error,
            cause=cause,
            records=self.records,
            name=self.name,
            execution_arn=self.execution_arn,
            start_time=self.start_time,
            stop_time=lane.now(),
            transitions=self.transitions,
            redrive_point=continuation.redrive_point(self),
        )

    # ------------------------------------------------------------------ history

    @property
    def events(self) -> list[dict[str, Any]]:
        """The history events so far, as :attr:`ExecutionResult.events` gives them."""
        return [event_dict(record) for record in self.records]

    def event(
        self,
        lane: Lane,
        kind: str,
        key: str | None,
        details: dict[str, Any] | None,
        event_id: int | None = None,
    ) -> int:
        """Record a history event on ``lane``; returns its id."""
        if event_id is None:
            event_id = next(lane.ids)
            if event_id >= self._history_limit and kind not in _FINAL_EVENTS:
                # AWS ends the execution with its failure as the last allowed event.
                raise _Stop(
                    ExecutionStatus.FAILED,
                    RUNTIME,
                    f"The execution reached the maximum number of history events ({event_id}).",
                    event_id,
                )
        # A tuple costs less to make than a dict; ExecutionResult.events makes the dicts.
        lane.sink.append(
            (event_id, lane.last_id, self.clock.now() + lane.offset, kind, key, details)
        )
        lane.last_id = event_id
        return event_id

    # ------------------------------------------------------------------ driving

    def check(self, lane: Lane) -> None:
        """End the execution if it was aborted or ran out of time; end the lane if its Map or
        Parallel failed elsewhere."""
        cancel = lane.cancel
        if cancel is not None and cancel.is_set():
            raise LaneAborted
        if self._aborted:
            error, cause = self._abort_error
            raise _Stop(ExecutionStatus.ABORTED, error or "ExecutionAborted", cause)
        if self.deadline is not None and lane.now() >= self.deadline:
            raise _Stop(ExecutionStatus.TIMED_OUT, TIMEOUT, None)

    def run_graph(self, graph: Graph, data: Any, lane: Lane) -> Any:
        """Run states from ``graph.start_at`` until one ends the graph; returns its output."""
        states = graph.states
        name: str | None = graph.start_at
        check = self.check
        run_state = self.run_state
        try:
            while name is not None:
                check(lane)
                data, name = run_state(states[name], data, lane)
        except (StatesError, _Stop):
            if graph is self.machine.graph and name is not None:
                self.failed_at = (name, data, lane)  # where a redrive starts again
            raise
        return data

    def run_state(
        self, state: State, data: Any, lane: Lane, resume: dict[str, Any] | None = None
    ) -> tuple[Any, str | None]:
        """Enter one state, run it with its Retry and Catch, and exit it.

        With ``resume`` (a snapshot), the state was entered before the snapshot and waits
        for its task token again.
        """
        kind = state.type
        before = lane.last_id  # what the entered event follows (and EvaluationFailed, on AWS)
        if resume is None:
            entered = self.event(
                lane,
                _ENTERED[kind],
                "stateEnteredEventDetails",
                {"name": state.name, "input": data},
            )
            self.transitions += 1
            lane.state_name = state.name
            lane.entered_time = lane.now()
            lane.retry_count = 0
        else:
            entered = resume["entered_id"]
            lane.resume = resume
        step = transitions.STEPS[kind]
        attempts: list[int] | None = None
        while True:
            try:
                output, next_name, assigned = step(self, state, data, lane)
                break
            except StatesError as err:
                if err.error in DECORATED_ERRORS and not getattr(err, "decorated", False):
                    err.cause = (
                        f"An error occurred while executing the state '{state.name}' "
                        f"(entered at the event id #{entered}). {err.cause}"
                    )
                    err.decorated = True  # type: ignore[attr-defined]
                    if err.error == QUERY_EVALUATION_ERROR:
                        self._evaluation_failed(lane, state, err, before)
                if state.retriers:
                    index = find_retrier(state.retriers, err.error)
                    if index is not None:
                        if attempts is None:
                            attempts = [0] * len(state.retriers)
                        retrier = state.retriers[index]
                        if attempts[index] < retrier.max_attempts:
                            delay = backoff_delay(retrier, attempts[index], self.rng)
                            attempts[index] += 1
                            lane.retry_count += 1
                            self.sleep(lane, delay)
                            continue
                if kind in _FAN_OUT and err.error != RUNTIME:
                    # AWS records a Map's or Parallel's failure once, when not retried;
                    # a States.Runtime error ends the execution without it.
                    self.event(lane, _FAN_OUT[kind], None, None)
                catcher = find_catcher(state.catchers, err.error) if state.catchers else None
                if catcher is None:
                    raise
                output, assigned = transitions.apply_catch(state, catcher, data, err, lane)
                next_name = catcher.next
                break
            except LaneAborted as aborted:
                aborted.state_type = kind  # the state was open when its lane stopped
                raise
        if assigned:
            lane.scope.vars.update(assigned)
        if kind != "Fail":
            self.event(
                lane,
                _EXITED[kind],
                "stateExitedEventDetails",
                {"name": state.name, "output": output},
            )
        return output, next_name

    def _evaluation_failed(self, lane: Lane, state: State, err: StatesError, before: int) -> None:
        lane.last_id = before  # AWS: it follows what the state's entered event followed
        details: dict[str, Any] = {"cause": err.cause, "error": err.error}
        location = getattr(err, "location", None)
        if location is not None:
            details["location"] = location
        details["state"] = state.name
        self.event(lane, "EvaluationFailed", "evaluationFailedEventDetails", details)

    def sleep(self, lane: Lane, seconds: float) -> None:
        """Wait ``seconds`` of execution time (``seconds * time_scale`` on the clock)."""
        if seconds <= 0:
            self.check(lane)
            return
        if self.deadline is not None and lane.now() + seconds > self.deadline:
            seconds = max(self.deadline - lane.now(), 0.0)
        real = seconds * self.time_scale
        self.clock.sleep(real, self.abort_event)
        lane.offset += seconds - real
        self.check(lane)

    def run_task(
        self,
        state: TaskState,
        payload: Any,
        timeout: float | None,
        lane: Lane,
        heartbeat: float | None = None,
    ) -> Any:
        """Run a Task state's handler with its timeout, recording the task events.

        A ``.waitForTaskToken`` state then waits for the answer to its token.
        """
        handler = state.handler
        assert handler is not None
        resource_type, resource = handler.resource_type, handler.resource
        if handler.callback:
            return run_callback_task(self, state, payload, timeout, heartbeat, lane)
        if handler.lambda_events:
            prefix, key = "LambdaFunction", "lambdaFunction"
            scheduled: dict[str, Any] = {"resource": state.resource, "input": payload}
            if timeout is not None:
                scheduled["timeoutInSeconds"] = int(timeout)
            self.event(
                lane, "LambdaFunctionScheduled", "lambdaFunctionScheduledEventDetails", scheduled
            )
            self.event(lane, "LambdaFunctionStarted", None, None)
            base: dict[str, Any] = {}
        else:
            prefix, key = "Task", "task"
            base = {"resourceType": resource_type, "resource": resource}
            scheduled = {**base, "region": "us-east-1", "parameters": payload}
            if timeout is not None:
                scheduled["timeoutInSeconds"] = int(timeout)
            self.event(lane, "TaskScheduled", "taskScheduledEventDetails", scheduled)
            self.event(lane, "TaskStarted", "taskStartedEventDetails", base)
        fits = False  # known to fit a state: it fits where the resource spills (<= 256 KiB)
        try:
            result = self.invoke(handler.invoke, _copy_json(payload), timeout, lane)
            spill = handler.spill
            if spill is not None:
                fits = not result_too_large(result, spill.above)
                if not fits:  # the resource stores it and passes a reference on
                    result = spill.store(result)
        except _TaskTimedOut:
            self.event(
                lane, f"{prefix}TimedOut", f"{key}TimedOutEventDetails", {**base, "error": TIMEOUT}
            )
            raise StatesError(TIMEOUT, None) from None
        except (TaskError, StatesError) as err:
            self.event(
                lane,
                f"{prefix}Failed",
                f"{key}FailedEventDetails",
                {**base, **_error_details(err.error, err.cause)},
            )
            raise StatesError(err.error, err.cause) from None
        if not fits and result_too_large(result):
            # AWS names the task by its resource: the function ARN, or the service.
            name = state.resource if handler.lambda_events else resource_type
            error = data_limit_exceeded(name)
            self.event(
                lane,
                f"{prefix}Failed",
                f"{key}FailedEventDetails",
                {**base, **_error_details(error.error, error.cause)},
            )
            raise error
        self.event(
            lane, f"{prefix}Succeeded", f"{key}SucceededEventDetails", {**base, "output": result}
        )
        return result

    # ------------------------------------------------------------------ task tokens

    def prepare_token(self, lane: Lane, data: Any) -> None:
        """Give ``lane`` the task token of the Task state it is about to run."""
        lane.state_input = data
        if lane.resume is not None:
            lane.task_token = lane.resume["token"]
        else:
            lane.task_token = secrets.token_hex(32)  # hex: never read as a CLI option

    # ------------------------------------------------------------------ going on elsewhere

    @classmethod
    def resume(cls, machine: StateMachine, snapshot: dict[str, Any], **options: Any) -> Execution:
        """An execution that goes on from a waiting ``snapshot`` (see ``on_wait``); call
        :meth:`run`.

        The Task state it stopped at waits for the same token again, without running its
        resource a second time; its history and variables are as they were.

        Args:
            machine: the same definition the snapshot was taken from.
            snapshot: what ``on_wait`` was given.
            options: as for the constructor (``tokens``, ``on_wait``, ``time_scale``, ...).
        """
        execution = cls(machine, snapshot["input"], name=snapshot["name"], **options)
        continuation.restore(execution, snapshot)
        execution._resume = snapshot
        return execution

    @classmethod
    def redrive(
        cls, machine: StateMachine, redrive_point: dict[str, Any], **options: Any
    ) -> Execution:
        """The execution ``redrive_point`` came from (see
        :attr:`ExecutionResult.redrive_point`), to run again from the state that failed,
        as AWS's ``RedriveExecution`` does; call :meth:`run`.

        The states that succeeded before are not run again: the failed state gets the
        input it had, with the variables as they were. The history goes on after the
        failure with ``ExecutionRedriven``; ``$$.Execution.RedriveCount`` counts up.

        Raises:
            DefinitionError: the point names no top-level state of ``machine``.
        """
        if redrive_point.get("state") not in machine.graph.states:
            raise DefinitionError(
                f"cannot redrive: the state machine has no state {redrive_point.get('state')!r}"
            )
        execution = cls.resume(machine, redrive_point, **options)
        execution.redrive_count += 1
        if machine.timeout_seconds:  # a redriven execution gets its time again
            execution.deadline = execution.clock.now() + machine.timeout_seconds
        return execution

    def _go_on(self, lane: Lane, snapshot: dict[str, Any]) -> Any:
        """Run from the snapshot's state to the end (waiting again, or redriven)."""
        states = self.machine.graph.states
        name: str | None = snapshot["state"]
        data = snapshot["state_input"]
        resume = None if snapshot.get("redrive") else snapshot
        try:
            while name is not None:
                self.check(lane)
                data, name = self.run_state(states[name], data, lane, resume)
                resume = None
        except (StatesError, _Stop):
            if name is not None:
                self.failed_at = (name, data, lane)
            raise
        return data

    def invoke(
        self,
        invoke: Callable[[Any, float | None], Any],
        payload: Any,
        timeout: float | None,
        lane: Lane,
    ) -> Any:
        """Call a task's ``invoke``; with a timeout, in a worker thread abandoned at the deadline.

        Without a timeout (the ASL default) and without an execution deadline the task runs
        inline: a thread per task would cost more than a small task itself.
        """
        if timeout is None and self.deadline is None:
            try:
                return invoke(payload, None)
            except (TaskError, StatesError, _TaskTimedOut):
                raise
            except Exception as err:
                raise TaskFailure(type(err).__name__, str(err)) from err
        box: dict[str, Any] = {}
        done = threading.Event()

        def work() -> None:
            try:
                box["result"] = invoke(payload, timeout)
            except BaseException as err:  # noqa: BLE001 - handed to the waiting thread
                box["error"] = err
            finally:
                done.set()

        # the task's thread sees the caller's context (whose log the task writes to)
        worker = threading.Thread(
            target=contextvars.copy_context().run,
            args=(work,),
            name=f"cirrus-task-{lane.state_name}",
            daemon=True,
        )
        worker.start()
        started = time.monotonic()  # tasks run in real time, whatever the clock says
        while not done.is_set():
            wait = 0.05
            if timeout is not None:
                left = timeout - (time.monotonic() - started)
                if left <= 0:
                    raise _TaskTimedOut
                wait = min(wait, left)
            done.wait(wait)
            if not done.is_set():
                self.check(lane)
        if "error" in box:
            failure = box["error"]
            if isinstance(failure, TaskError | StatesError | _TaskTimedOut):
                raise failure
            raise TaskFailure(type(failure).__name__, str(failure)) from failure
        return box.get("result")


_ABORT_EVENT_LOCK = threading.Lock()


def run_execution(
    machine: StateMachine,
    input: Any = None,
    *,
    name: str | None = None,
    time_scale: float = 1.0,
    clock: Clock | None = None,
    object_io: ObjectIO | None = None,
    seed: int | None = None,
    max_history_events: int | None = MAX_HISTORY_EVENTS,
    tokens: TaskTokens | None = None,
    on_wait: Callable[[dict[str, Any]], None] | None = None,
) -> ExecutionResult:
    """Run ``machine`` on ``input`` to the end. See :class:`Execution` for the options."""
    execution = Execution(
        machine,
        input,
        name=name,
        time_scale=time_scale,
        clock=clock,
        object_io=object_io,
        seed=seed,
        max_history_events=max_history_events,
        tokens=tokens,
        on_wait=on_wait,
    )
    return execution.run()
