"""One step per state type: state input in, (output, next state, variables to assign) out.

Each step applies the state's data flow in the order ASL defines it. JSONPath:
InputPath → Parameters → (work) → ResultSelector → ResultPath → OutputPath, with
``Assign`` reading the result. JSONata: Arguments → (work) → Output and Assign, both
reading ``$states`` and the variables as they were when the state was entered.
Steps raise :class:`~cirrus.engine.errors.StatesError`; the runner retries and catches.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cirrus.engine import fanout
from cirrus.engine.choice import parse_timestamp
from cirrus.engine.errors import NO_CHOICE_MATCHED, RUNTIME, StatesError
from cirrus.engine.jsonata_eval import JsonataTemplate, query_error
from cirrus.engine.limits import data_limit_exceeded, result_too_large
from cirrus.engine.paths import PathMissing, Template, dumps, set_path
from cirrus.engine.retry import Catcher
from cirrus.engine.states import (
    ChoiceState,
    FailState,
    PassState,
    State,
    TaskState,
    WaitState,
)

if TYPE_CHECKING:
    from cirrus.engine.runner import Execution, Lane

__all__ = ["STEPS", "apply_catch"]

Step = Callable[["Execution", Any, Any, "Lane"], tuple[Any, "str | None", "dict[str, Any] | None"]]


def _no_results(path: str) -> str:
    tail = path[2:] if path.startswith("$.") else path
    return f"Invalid path '{path}' : No results for path: $['{tail}']"


def effective_input(state: State, data: Any, lane: Lane) -> Any:
    """The state input after InputPath."""
    if state.input_path is None:
        return {} if state.input_null else data
    try:
        return state.input_path(data, lane)
    except PathMissing:
        raise StatesError(RUNTIME, _no_results(state.input_path_text)) from None


def final_output(state: State, output: Any, lane: Lane) -> Any:
    """The state output after OutputPath."""
    if state.output_path is None:
        return {} if state.output_null else output
    try:
        return state.output_path(output, lane)
    except PathMissing:
        raise StatesError(RUNTIME, _no_results(state.output_path_text)) from None


def place_result(state: State, data: Any, result: Any) -> Any:
    """ResultPath: put ``result`` into the raw input ``data``."""
    steps = state.result_path
    if steps is None:
        return data
    if not steps:
        return result
    return set_path(data, steps, result, state.result_path_text)


def assign_jsonpath(assign: Any, value: Any, lane: Lane) -> dict[str, Any] | None:
    """Evaluate a JSONPath ``Assign`` block whose ``$`` is ``value``."""
    if assign is None:
        return None
    result: dict[str, Any] = assign.evaluate(value, lane)
    return result


def jsonata_states(data: Any, lane: Lane, **extra: Any) -> dict[str, Any]:
    """The ``$states`` binding."""
    states = {"input": data, "context": lane.context()}
    states.update(extra)
    return states


def finish_jsonata(
    state: State, data: Any, lane: Lane, default: Any, **extra: Any
) -> tuple[Any, dict[str, Any] | None]:
    """Evaluate a JSONata state's Output and Assign (both see the old variables)."""
    if state.output is None and state.assign is None:
        return default, None
    bindings = lane.bindings(jsonata_states(data, lane, **extra))
    output = state.output.evaluate(bindings) if state.output is not None else default
    assigned = (
        state.assign.evaluate(bindings) if isinstance(state.assign, JsonataTemplate) else None
    )
    return output, assigned


# --------------------------------------------------------------------------- steps


def step_pass(
    execution: Execution, state: PassState, data: Any, lane: Lane
) -> tuple[Any, str | None, dict[str, Any] | None]:
    if state.jsonata:
        output, assigned = finish_jsonata(state, data, lane, data)
        return output, state.next, assigned
    effective = (
        effective_input(state, data, lane) if (state.input_path or state.input_null) else data
    )
    if state.has_result:
        if state.result_too_large:
            raise data_limit_exceeded(state.name)
        result = state.result
    elif state.parameters is not None:
        assert isinstance(state.parameters, Template)
        result = state.parameters.evaluate(effective, lane)
    else:
        result = effective
    assigned = assign_jsonpath(state.assign, result, lane)
    steps = state.result_path
    output = result if steps == () else place_result(state, data, result)
    if state.output_path is not None or state.output_null:
        output = final_output(state, output, lane)
    return output, state.next, assigned


def step_task(
    execution: Execution, state: TaskState, data: Any, lane: Lane
) -> tuple[Any, str | None, dict[str, Any] | None]:
    handler = state.handler
    callback = handler is not None and handler.callback
    if callback:
        # The token must be in $$.Task.Token before Parameters/Arguments are evaluated.
        execution.prepare_token(lane, data)
    if state.default_data_flow and state.timeout_path is None and state.heartbeat_path is None:
        # The input is the task's payload and its result the state output.
        return execution.run_task(state, data, state.timeout, lane), state.next, None
    if state.jsonata:
        bindings = lane.bindings(jsonata_states(data, lane))
        payload = (
            state.parameters.evaluate(bindings)
            if isinstance(state.parameters, JsonataTemplate)
            else data
        )
        timeout = task_timeout(state, data, lane, bindings)
        heartbeat = task_heartbeat(state, data, lane, bindings) if callback else None
        result = execution.run_task(state, payload, timeout, lane, heartbeat)
        output, assigned = finish_jsonata(state, data, lane, result, result=result)
        return output, state.next, assigned
    effective = effective_input(state, data, lane)
    payload = (
        state.parameters.evaluate(effective, lane)
        if isinstance(state.parameters, Template)
        else effective
    )
    timeout = task_timeout(state, data, lane, None)
    heartbeat = task_heartbeat(state, data, lane, None) if callback else None
    result = execution.run_task(state, payload, timeout, lane, heartbeat)
    return _finish_jsonpath(state, data, result, lane)


def _finish_jsonpath(
    state: State, data: Any, result: Any, lane: Lane
) -> tuple[Any, str | None, dict[str, Any] | None]:
    """ResultSelector → Assign → ResultPath → OutputPath."""
    if state.result_selector is not None:
        result = state.result_selector.evaluate(result, lane)
    assigned = assign_jsonpath(state.assign, result, lane)
    output = final_output(state, place_result(state, data, result), lane)
    return output, state.next, assigned


def task_timeout(
    state: TaskState, data: Any, lane: Lane, bindings: dict[str, Any] | None
) -> float | None:
    """The state's TimeoutSeconds (from TimeoutSecondsPath or JSONata when dynamic)."""
    if state.timeout_path is None:
        return state.timeout
    return _dynamic_seconds(state.timeout_path, "TimeoutSecondsPath", data, lane, bindings)


def task_heartbeat(
    state: TaskState, data: Any, lane: Lane, bindings: dict[str, Any] | None
) -> float | None:
    """The state's HeartbeatSeconds (from HeartbeatSecondsPath or JSONata when dynamic)."""
    if state.heartbeat_path is None:
        return state.heartbeat
    return _dynamic_seconds(state.heartbeat_path, "HeartbeatSecondsPath", data, lane, bindings)


def _dynamic_seconds(
    source: Any, field: str, data: Any, lane: Lane, bindings: dict[str, Any] | None
) -> float:
    """A number of seconds read from a path or a JSONata template, as AWS checks it."""
    if isinstance(source, JsonataTemplate):
        value = source.evaluate(bindings or {})
    else:
        try:
            value = source(data, lane)
        except PathMissing as missing:
            raise StatesError(
                RUNTIME,
                f"Invalid path '{missing.path}' : No results for path: $['{missing.path[2:]}']",
            ) from None
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise StatesError(
            RUNTIME, f"The {field} parameter must reference a positive integer: {dumps(value)}"
        )
    return float(value)


def step_choice(
    execution: Execution, state: ChoiceState, data: Any, lane: Lane
) -> tuple[Any, str | None, dict[str, Any] | None]:
    if state.jsonata:
        bindings = lane.bindings(jsonata_states(data, lane))
        for branch in state.choices:
            assert isinstance(branch.predicate, JsonataTemplate)
            matched = branch.predicate.evaluate(bindings)
            if not isinstance(matched, bool):
                raise StatesError(
                    "States.QueryEvaluationError",
                    f"The JSONata expression '{branch.predicate.source}' specified for the field "
                    f"'Condition' returned an unexpected data type: {dumps(matched)}",
                )
            if matched:
                output = branch.output.evaluate(bindings) if branch.output is not None else data
                assigned = (
                    branch.assign.evaluate(bindings)
                    if isinstance(branch.assign, JsonataTemplate)
                    else None
                )
                return output, branch.next, assigned
        if state.default is None:
            raise StatesError(NO_CHOICE_MATCHED, "No Matches!")
        output, assigned = finish_jsonata(state, data, lane, data)
        return output, state.default, assigned
    effective = effective_input(state, data, lane)
    for branch in state.choices:
        if branch.predicate(effective, lane):  # type: ignore[operator]
            assigned = assign_jsonpath(branch.assign, effective, lane)
            return final_output(state, effective, lane), branch.next, assigned
    if state.default is None:
        raise StatesError(NO_CHOICE_MATCHED, "No Matches!")
    assigned = assign_jsonpath(state.assign, effective, lane)
    return final_output(state, effective, lane), state.default, assigned


def step_wait(
    execution: Execution, state: WaitState, data: Any, lane: Lane
) -> tuple[Any, str | None, dict[str, Any] | None]:
    if state.jsonata:
        bindings = lane.bindings(jsonata_states(data, lane))
        if state.seconds_expr is not None:
            seconds = _wait_seconds(state.seconds_expr.evaluate(bindings), "Seconds")
        elif state.timestamp_expr is not None:
            seconds = _jsonata_until(state.timestamp_expr.evaluate(bindings), lane)
        else:
            seconds = _static_wait(state, lane)
        execution.sleep(lane, seconds)
        output, assigned = finish_jsonata(state, data, lane, data)
        return output, state.next, assigned
    effective = effective_input(state, data, lane)
    if state.seconds_path is not None:
        try:
            value = state.seconds_path(effective, lane)
        except PathMissing:
            raise StatesError(
                RUNTIME,
                "The SecondsPath parameter does not reference an input value: "
                f"{state.seconds_text}",
            ) from None
        seconds = _wait_seconds(value, "SecondsPath", state.seconds_text)
    elif state.timestamp_path is not None:
        try:
            value = state.timestamp_path(effective, lane)
        except PathMissing:
            raise StatesError(
                RUNTIME,
                "The TimestampPath parameter does not reference an input value: "
                f"{state.timestamp_text}",
            ) from None
        seconds = _until(value, "TimestampPath", lane, state.timestamp_text)
    else:
        seconds = _static_wait(state, lane)
    execution.sleep(lane, seconds)
    assigned = assign_jsonpath(state.assign, effective, lane)
    return final_output(state, effective, lane), state.next, assigned


def _static_wait(state: WaitState, lane: Lane) -> float:
    if state.seconds is not None:
        return state.seconds
    return _until(state.timestamp, "Timestamp", lane)


def _wait_seconds(value: Any, field: str, path: str = "") -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (isinstance(value, float) and not value.is_integer())
    ):
        described = f"{path} == {dumps(value)}" if path else dumps(value)
        raise StatesError(
            RUNTIME, f"The {field} parameter cannot be parsed as a long value: {described}"
        )
    if value < 0:
        described = f"{path} == {dumps(value)}" if path else dumps(value)
        raise StatesError(
            RUNTIME, f"The {field} parameter references a negative value: {described}"
        )
    return float(value)


def _jsonata_until(value: Any, lane: Lane) -> float:
    moment = parse_timestamp(value)
    if moment is None:
        raise query_error(
            "The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time "
            f"format string: {value if isinstance(value, str) else dumps(value)}",
            "Timestamp",
        )
    return max(moment.timestamp() - lane.now(), 0.0)


def _until(value: Any, field: str, lane: Lane, path: str = "") -> float:
    moment = parse_timestamp(value)
    if moment is None:
        # AWS prints the value as it is: a string without quotes.
        shown = value if isinstance(value, str) else dumps(value)
        described = f"{path} == {shown}" if path else shown
        raise StatesError(
            RUNTIME,
            f"The {field} parameter does not reference a valid ISO-8601 extended offset "
            f"date-time format string: {described}",
        )
    return max(moment.timestamp() - lane.now(), 0.0)


def step_succeed(
    execution: Execution, state: State, data: Any, lane: Lane
) -> tuple[Any, str | None, dict[str, Any] | None]:
    if state.jsonata:
        output, _ = finish_jsonata(state, data, lane, data)
        return output, None, None
    return final_output(state, effective_input(state, data, lane), lane), None, None


def step_fail(
    execution: Execution, state: FailState, data: Any, lane: Lane
) -> tuple[Any, str | None, dict[str, Any] | None]:
    bindings = lane.bindings(jsonata_states(data, lane)) if state.jsonata else None
    error = _fail_field(
        state.error, state.error_path, state.error_text, "ErrorPath", data, lane, bindings
    )
    cause = _fail_field(
        state.cause, state.cause_path, state.cause_text, "CausePath", data, lane, bindings
    )
    raise StatesError(error if error is not None else "", cause)


def _fail_field(
    value: Any,
    path: Any,
    text: str,
    field: str,
    data: Any,
    lane: Lane,
    bindings: dict[str, Any] | None,
) -> str | None:
    if path is not None:
        result = path(data, lane)
        if not isinstance(result, str):
            raise StatesError(
                RUNTIME,
                f"The {field} parameter must reference a string value: {text} == {dumps(result)}",
            )
        return result
    if isinstance(value, JsonataTemplate):
        result = value.evaluate(bindings or {})
        if not isinstance(result, str):
            raise StatesError(
                "States.QueryEvaluationError",
                f"The JSONata expression specified for the field '{value.field}' "
                f"returned an unexpected data type: {dumps(result)}",
            )
        return result
    return value if isinstance(value, str) else None


def step_parallel(
    execution: Execution, state: Any, data: Any, lane: Lane
) -> tuple[Any, str | None, dict[str, Any] | None]:
    if state.jsonata:
        bindings = lane.bindings(jsonata_states(data, lane))
        branch_input = (
            state.parameters.evaluate(bindings)
            if isinstance(state.parameters, JsonataTemplate)
            else data
        )
        result = _sized(fanout.run_parallel(execution, state, branch_input, lane), state)
        output, assigned = finish_jsonata(state, data, lane, result, result=result)
        return output, state.next, assigned
    effective = effective_input(state, data, lane)
    branch_input = (
        state.parameters.evaluate(effective, lane)
        if isinstance(state.parameters, Template)
        else effective
    )
    result = _sized(fanout.run_parallel(execution, state, branch_input, lane), state)
    return _finish_jsonpath(state, data, result, lane)


def step_map(
    execution: Execution, state: Any, data: Any, lane: Lane
) -> tuple[Any, str | None, dict[str, Any] | None]:
    if state.jsonata:
        result = _sized(fanout.run_map(execution, state, data, data, lane), state)
        output, assigned = finish_jsonata(state, data, lane, result, result=result)
        return output, state.next, assigned
    effective = effective_input(state, data, lane)
    result = _sized(fanout.run_map(execution, state, effective, data, lane), state)
    return _finish_jsonpath(state, data, result, lane)


def _sized(result: Any, state: State) -> Any:
    """``result``, unless it is larger than AWS lets a state return."""
    if result_too_large(result):
        raise data_limit_exceeded(state.name)
    return result


def apply_catch(
    state: State, catcher: Catcher, data: Any, err: StatesError, lane: Lane
) -> tuple[Any, dict[str, Any] | None]:
    """The output and assignments when ``catcher`` handles ``err`` raised by ``state``."""
    error_output: dict[str, Any] = {"Error": err.error}
    if err.cause is not None:
        error_output["Cause"] = err.cause
    if state.jsonata:
        if catcher.output is None and catcher.assign is None:
            return error_output, None
        bindings = lane.bindings(jsonata_states(data, lane, errorOutput=error_output))
        output = catcher.output.evaluate(bindings) if catcher.output is not None else error_output
        assigned = catcher.assign.evaluate(bindings) if catcher.assign is not None else None
        return output, assigned
    assigned = catcher.assign.evaluate(error_output, lane) if catcher.assign is not None else None
    if catcher.result_path is None:
        return data, assigned
    if not catcher.result_path:
        return error_output, assigned
    return set_path(data, catcher.result_path, error_output, catcher.result_path_text), assigned


STEPS: dict[str, Step] = {
    "Pass": step_pass,
    "Task": step_task,
    "Choice": step_choice,
    "Wait": step_wait,
    "Succeed": step_succeed,
    "Fail": step_fail,
    "Parallel": step_parallel,
    "Map": step_map,
}
