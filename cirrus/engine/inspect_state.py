"""Run one state on its own, as AWS's ``TestState`` API does.

    machine = StateMachine.from_dict(definition, resolver=resolver)
    result = inspect_state(machine, "Transform", {"a": 1}, inspection_level="DEBUG")
    result.to_dict()
    # {"output": ..., "nextState": "Publish", "status": "SUCCEEDED",
    #  "inspectionData": {"input": ..., "afterInputPath": ..., "afterParameters": ...,
    #                     "result": ..., "afterResultSelector": ..., "afterResultPath": ...}}

The status is AWS's: ``SUCCEEDED``; ``FAILED`` (``error`` and ``cause``); ``RETRIABLE``
(a ``Retry`` rule would run the state again); ``CAUGHT_ERROR`` (a ``Catch`` rule handles
the error: ``output`` is what it passes on, ``nextState`` where it goes). ``INFO`` gives
no inspection data; ``DEBUG`` and ``TRACE`` give the input at each step of the data flow.

A lone state (a mapping with ``Type``) is wrapped by :func:`single_state_machine` into a
machine of its own, its transitions ending at placeholder states.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from cirrus.engine import transitions
from cirrus.engine.callbacks import TaskTokens
from cirrus.engine.definition import StateMachine
from cirrus.engine.errors import StatesError
from cirrus.engine.jsonata_eval import JsonataTemplate
from cirrus.engine.objects import ObjectIO
from cirrus.engine.paths import Template
from cirrus.engine.retry import find_catcher, find_retrier
from cirrus.engine.runner import Execution, Lane, Scope
from cirrus.engine.states import PassState, State, TaskState
from cirrus.errors import DefinitionError

__all__ = ["INSPECTION_LEVELS", "StateTestResult", "inspect_state", "single_state_machine"]

INSPECTION_LEVELS = ("INFO", "DEBUG", "TRACE")
"""AWS's inspection levels; TRACE adds HTTP details AWS has and local tasks do not."""


@dataclass
class StateTestResult:
    """What :func:`inspect_state` found, shaped as AWS's ``TestState`` response.

    Attributes:
        status: ``SUCCEEDED``, ``FAILED``, ``RETRIABLE`` or ``CAUGHT_ERROR``.
        output: the state's output (also with ``CAUGHT_ERROR``).
        next_state: where the execution would go; None at the end or on failure.
        error: the error name, when the state failed.
        cause: the cause, when the state failed.
        inspection: the data at each step of the data flow (DEBUG and TRACE).
    """

    status: str
    output: Any = None
    next_state: str | None = None
    error: str | None = None
    cause: str | None = None
    inspection: dict[str, Any] | None = field(default=None)

    def to_dict(self) -> dict[str, Any]:
        """The response as JSON, with AWS's field names."""
        out: dict[str, Any] = {}
        if self.status in ("SUCCEEDED", "CAUGHT_ERROR"):
            out["output"] = self.output
        if self.next_state is not None:
            out["nextState"] = self.next_state
        out["status"] = self.status
        if self.error is not None:
            out["error"] = self.error
        if self.cause is not None:
            out["cause"] = self.cause
        if self.inspection is not None:
            out["inspectionData"] = self.inspection
        return out


def single_state_machine(state: dict[str, Any], name: str = "State") -> dict[str, Any]:
    """A machine holding only ``state``; the states it names become ``Succeed`` stand-ins."""
    targets: set[str] = set()
    for key in ("Next", "Default"):
        if isinstance(state.get(key), str):
            targets.add(state[key])
    for key in ("Choices", "Catch"):
        for rule in state.get(key) or []:
            if isinstance(rule, dict) and isinstance(rule.get("Next"), str):
                targets.add(rule["Next"])
    states: dict[str, Any] = {target: {"Type": "Succeed"} for target in targets - {name}}
    states[name] = state
    definition: dict[str, Any] = {"StartAt": name, "States": states}
    if "QueryLanguage" in state:
        definition["QueryLanguage"] = state["QueryLanguage"]
    return definition


def inspect_state(
    machine: StateMachine,
    state_name: str,
    input: Any = None,
    *,
    variables: dict[str, Any] | None = None,
    inspection_level: str = "INFO",
    time_scale: float = 0.0,
    object_io: ObjectIO | None = None,
    tokens: TaskTokens | None = None,
) -> StateTestResult:
    """Run ``state_name`` of ``machine`` once on ``input``.

    Args:
        machine: the loaded machine holding the state.
        state_name: the top-level state to run.
        input: the state's input.
        variables: the variables in scope when the state is entered.
        inspection_level: ``INFO``, ``DEBUG`` or ``TRACE``.
        time_scale: multiplies a Wait state's sleep (0, the default, skips it).
        object_io: object storage for a Map's ItemReader/ResultWriter.
        tokens: where a ``.waitForTaskToken`` state waits for its answer.

    Raises:
        DefinitionError: no top-level state has that name, or the level is unknown.
    """
    if inspection_level not in INSPECTION_LEVELS:
        raise DefinitionError(
            f"unknown inspection level {inspection_level!r}; use {', '.join(INSPECTION_LEVELS)}"
        )
    state = machine.graph.states.get(state_name)
    if state is None:
        known = ", ".join(machine.graph.states)
        raise DefinitionError(f"no state named {state_name!r}; the states are: {known}")
    data = {} if input is None else input
    execution = Execution(machine, data, time_scale=time_scale, object_io=object_io, tokens=tokens)
    lane = Lane(execution, Scope(), 0.0, 0)
    lane.scope.vars.update(variables or {})
    lane.state_name = state.name
    lane.entered_time = lane.now()
    seen: dict[str, Any] = {"input": data}
    try:
        output, next_state, assigned = _flow(execution, state, data, lane, seen)
    except StatesError as err:
        result = _failed(state, data, err, lane)
    else:
        if assigned:
            lane.scope.vars.update(assigned)
            seen["variables"] = json.dumps(lane.scope.flat(), separators=(",", ":"))
        result = StateTestResult("SUCCEEDED", output, next_state)
    if inspection_level != "INFO":
        result.inspection = seen
    return result


def _failed(state: State, data: Any, err: StatesError, lane: Lane) -> StateTestResult:
    error = err.error or None
    if state.retriers and find_retrier(state.retriers, err.error) is not None:
        return StateTestResult("RETRIABLE", error=error, cause=err.cause)
    catcher = find_catcher(state.catchers, err.error) if state.catchers else None
    if catcher is not None:
        output, _ = transitions.apply_catch(state, catcher, data, err, lane)
        return StateTestResult("CAUGHT_ERROR", output, catcher.next, error, err.cause)
    return StateTestResult("FAILED", error=error, cause=err.cause)


def _flow(
    execution: Execution, state: State, data: Any, lane: Lane, seen: dict[str, Any]
) -> tuple[Any, str | None, dict[str, Any] | None]:
    """The state's step, noting what the data is after each stage it passes."""
    if state.jsonata:
        return _jsonata_flow(execution, state, data, lane, seen)
    if not isinstance(state, PassState | TaskState):
        seen["afterInputPath"] = transitions.effective_input(state, data, lane)
        return transitions.STEPS[state.type](execution, state, data, lane)
    if isinstance(state, TaskState) and state.handler is not None and state.handler.callback:
        execution.prepare_token(lane, data)  # $$.Task.Token, before Parameters
    effective = transitions.effective_input(state, data, lane)
    seen["afterInputPath"] = effective
    if isinstance(state, PassState):
        if state.has_result:
            result = state.result
            seen["result"] = result
        elif isinstance(state.parameters, Template):
            result = state.parameters.evaluate(effective, lane)
            seen["afterParameters"] = result
        else:
            result = effective
    else:
        payload = effective
        if isinstance(state.parameters, Template):
            payload = state.parameters.evaluate(effective, lane)
            seen["afterParameters"] = payload
        timeout = transitions.task_timeout(state, data, lane, None)
        heartbeat = (
            transitions.task_heartbeat(state, data, lane, None)
            if state.handler is not None and state.handler.callback
            else None
        )
        result = execution.run_task(state, payload, timeout, lane, heartbeat)
        seen["result"] = result
        if state.result_selector is not None:
            result = state.result_selector.evaluate(result, lane)
    seen["afterResultSelector"] = result
    assigned = transitions.assign_jsonpath(state.assign, result, lane)
    placed = transitions.place_result(state, data, result)
    seen["afterResultPath"] = placed
    return transitions.final_output(state, placed, lane), state.next, assigned


def _jsonata_flow(
    execution: Execution, state: State, data: Any, lane: Lane, seen: dict[str, Any]
) -> tuple[Any, str | None, dict[str, Any] | None]:
    if not isinstance(state, TaskState):
        return transitions.STEPS[state.type](execution, state, data, lane)
    if state.handler is not None and state.handler.callback:
        execution.prepare_token(lane, data)
    bindings = lane.bindings(transitions.jsonata_states(data, lane))
    payload = (
        state.parameters.evaluate(bindings)
        if isinstance(state.parameters, JsonataTemplate)
        else data
    )
    seen["afterArguments"] = payload
    timeout = transitions.task_timeout(state, data, lane, bindings)
    result = execution.run_task(state, payload, timeout, lane)
    seen["result"] = result
    output, assigned = transitions.finish_jsonata(state, data, lane, result, result=result)
    return output, state.next, assigned
