"""Compile an ASL definition into typed states, collecting every problem in one pass.

Every path, template, choice rule and intrinsic is compiled once and every Task state
resolved through the given :class:`~cirrus.engine.tasks.TaskResolver`. Each problem
(unknown ``Next``, unreachable state, missing terminal state, bad path or intrinsic,
unresolvable task, misplaced field) becomes a :class:`~cirrus.errors.DefinitionProblem`
with the key path of the field at fault; they are raised together in one
:class:`~cirrus.errors.DefinitionError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cirrus.engine.jsonata_eval import JsonataTemplate, compile_jsonata
from cirrus.engine.paths import (
    PathSyntaxError,
    Template,
    compile_path,
    compile_reference_path,
    compile_template,
)
from cirrus.engine.retry import Catcher, Retrier
from cirrus.engine.state_builders import FieldError, Path, StateBuilders, is_int, is_number
from cirrus.engine.states import (
    JSONATA,
    JSONPATH,
    ChoiceState,
    FailState,
    Graph,
    MapState,
    ParallelState,
    State,
    SucceedState,
    TaskState,
    WaitState,
)
from cirrus.engine.tasks import TaskResolver
from cirrus.errors import DefinitionError, DefinitionProblem

__all__ = ["Compiled", "compile_definition"]


_COMMON = {"Type", "Comment", "QueryLanguage"}
_FLOW = {"Next", "End"}
_PATH_IO = {"InputPath", "OutputPath"}
_ERRORS = {"Retry", "Catch"}
_ALLOWED: dict[str, set[str]] = {
    "Pass": _COMMON | _FLOW | _PATH_IO | {"Parameters", "Result", "ResultPath", "Assign", "Output"},
    "Task": _COMMON
    | _FLOW
    | _PATH_IO
    | _ERRORS
    | {
        "Resource",
        "Parameters",
        "ResultSelector",
        "ResultPath",
        "TimeoutSeconds",
        "TimeoutSecondsPath",
        "HeartbeatSeconds",
        "HeartbeatSecondsPath",
        "Credentials",
        "Assign",
        "Arguments",
        "Output",
    },
    "Choice": _COMMON | _PATH_IO | {"Choices", "Default", "Assign", "Output"},
    "Wait": _COMMON
    | _FLOW
    | _PATH_IO
    | {
        "Seconds",
        "SecondsPath",
        "Timestamp",
        "TimestampPath",
        "Assign",
        "Output",
    },
    "Succeed": _COMMON | _PATH_IO | {"Output"},
    "Fail": _COMMON | {"Error", "ErrorPath", "Cause", "CausePath"},
    "Parallel": _COMMON
    | _FLOW
    | _PATH_IO
    | _ERRORS
    | {
        "Branches",
        "Parameters",
        "ResultSelector",
        "ResultPath",
        "Assign",
        "Arguments",
        "Output",
    },
    "Map": _COMMON
    | _FLOW
    | _PATH_IO
    | _ERRORS
    | {
        "Iterator",
        "ItemProcessor",
        "ItemsPath",
        "Items",
        "ItemSelector",
        "Parameters",
        "ItemReader",
        "ItemBatcher",
        "ResultWriter",
        "MaxConcurrency",
        "MaxConcurrencyPath",
        "ToleratedFailurePercentage",
        "ToleratedFailurePercentagePath",
        "ToleratedFailureCount",
        "ToleratedFailureCountPath",
        "Label",
        "ResultSelector",
        "ResultPath",
        "Assign",
        "Output",
    },
}
_JSONPATH_ONLY = {
    "InputPath",
    "OutputPath",
    "Parameters",
    "ResultSelector",
    "ResultPath",
    "ItemsPath",
    "SecondsPath",
    "TimestampPath",
    "TimeoutSecondsPath",
    "HeartbeatSecondsPath",
    "ErrorPath",
    "CausePath",
    "MaxConcurrencyPath",
    "ToleratedFailurePercentagePath",
    "ToleratedFailureCountPath",
    "Iterator",
}
_JSONATA_ONLY = {"Arguments", "Output", "Items"}
_TOP_LEVEL = {"StartAt", "States", "Comment", "Version", "TimeoutSeconds", "QueryLanguage"}


@dataclass(frozen=True, slots=True)
class Compiled:
    """A compiled definition: its top-level graph, ``TimeoutSeconds`` and query language."""

    graph: Graph
    timeout_seconds: float | None
    language: str


def compile_definition(definition: Any, resolver: TaskResolver) -> Compiled:
    """Compile a parsed definition, resolving its Task states through ``resolver``.

    Raises:
        DefinitionError: every problem, in text and as data (``problems``).
    """
    return _Compiler(resolver).machine(definition)


class _Compiler(StateBuilders):
    """Turns a parsed definition into states, collecting every problem."""

    def __init__(self, resolver: TaskResolver) -> None:
        self.resolver = resolver
        self.problems: list[DefinitionProblem] = []

    def problem(self, path: Path, where: str, message: str) -> None:
        self.problems.append(DefinitionProblem(path, message, where))

    def machine(self, definition: Any) -> Compiled:
        if not isinstance(definition, dict):
            raise DefinitionError(
                "Invalid state machine definition: it must be a JSON object",
                [DefinitionProblem((), "must be a JSON object with StartAt and States")],
            )
        language = definition.get("QueryLanguage", JSONPATH)
        if language not in (JSONPATH, JSONATA):
            self.problem(
                ("QueryLanguage",),
                "QueryLanguage",
                f"must be {JSONPATH} or {JSONATA}, got {language!r}",
            )
            language = JSONPATH
        timeout = definition.get("TimeoutSeconds")
        if timeout is not None and (not is_int(timeout) or timeout <= 0):
            self.problem(("TimeoutSeconds",), "TimeoutSeconds", "must be a positive integer")
            timeout = None
        for key in sorted(set(definition) - _TOP_LEVEL, key=str):
            self.problem(
                (key,),
                "definition",
                f"unknown top-level field(s): {key}; allowed: {', '.join(sorted(_TOP_LEVEL))}",
            )
        graph = self.graph(definition, language, "", ())
        if self.problems:
            lines = "\n".join(f"  - {p}" for p in self.problems)
            raise DefinitionError(f"Invalid state machine definition:\n{lines}", self.problems)
        return Compiled(graph, float(timeout) if timeout else None, language)

    def graph(self, spec: Any, language: str, where: str, path: Path) -> Graph:
        prefix = f"{where}." if where else ""
        if not isinstance(spec, dict):
            self.problem(path, where or "definition", "must be an object with StartAt and States")
            return Graph("", {})
        start = spec.get("StartAt")
        raw_states = spec.get("States")
        if not isinstance(raw_states, dict) or not raw_states:
            self.problem(
                (*path, "States"), f"{prefix}States", "must be a non-empty object of states"
            )
            return Graph(str(start), {})
        if not isinstance(start, str) or start not in raw_states:
            self.problem((*path, "StartAt"), f"{prefix}StartAt", f"names no state: {start!r}")
        states: dict[str, State] = {}
        for name, raw in raw_states.items():
            state_path = (*path, "States", name)
            if len(name) > 80:
                self.problem(state_path, f"State '{name}'", "the name is longer than 80 characters")
            state = self.state(name, raw, language, state_path)
            if state is not None:
                states[name] = state
        self.check_graph(start, raw_states, states, where, path)
        pure = all(_pure(state) for state in states.values())
        return Graph(str(start), states, pure, any(_waits(state) for state in states.values()))

    def check_graph(
        self,
        start: Any,
        raw_states: dict[str, Any],
        states: dict[str, State],
        where: str,
        path: Path,
    ) -> None:
        targets: dict[str, list[str]] = {}
        for name, state in states.items():
            found = _targets(state)
            targets[name] = [target for target, _ in found]
            for target, field in found:
                if target not in raw_states:
                    self.problem(
                        (*path, "States", name, *field),
                        f"State '{name}'",
                        f"MISSING_TRANSITION_TARGET: no state named {target!r}",
                    )
        if not isinstance(start, str) or start not in states:
            return
        seen = {start}
        stack = [start]
        while stack:
            for target in targets.get(stack.pop(), []):
                if target in states and target not in seen:
                    seen.add(target)
                    stack.append(target)
        for name in states:
            if name not in seen:
                self.problem(
                    (*path, "States", name),
                    f"State '{name}'",
                    "UNREACHABLE_STATE: no transition leads to it",
                )
        if not any(_terminal(states[name]) for name in seen):
            scope = f" in {where}" if where else ""
            self.problem(
                (*path, "StartAt"),
                f"StartAt '{start}'",
                f"MISSING_TERMINAL_STATE: no reachable state ends the workflow{scope}",
            )

    def state(self, name: str, raw: Any, inherited: str, path: Path) -> State | None:
        where = f"State '{name}'"
        if not isinstance(raw, dict):
            self.problem(path, where, "must be an object")
            return None
        kind = raw.get("Type")
        if kind not in _ALLOWED:
            self.problem(
                (*path, "Type"), where, f"Type must be one of {', '.join(_ALLOWED)}, got {kind!r}"
            )
            return None
        language = raw.get("QueryLanguage", inherited)
        if language not in (JSONPATH, JSONATA):
            self.problem(
                (*path, "QueryLanguage"), where, f"QueryLanguage must be {JSONPATH} or {JSONATA}"
            )
            language = inherited
        if inherited == JSONATA and language == JSONPATH:
            self.problem(
                (*path, "QueryLanguage"),
                where,
                "a JSONPath state cannot be inside a JSONata state machine",
            )
        jsonata = language == JSONATA
        for key in sorted(set(raw) - _ALLOWED[kind]):
            self.problem(
                (*path, key),
                where,
                f"SCHEMA_VALIDATION_FAILED: field(s) not allowed in a {kind} state: {key}",
            )
        for key in sorted(set(raw) & (_JSONPATH_ONLY if jsonata else _JSONATA_ONLY)):
            self.problem(
                (*path, key), where, f"field(s) {key} cannot be used with QueryLanguage {language}"
            )
        builder = getattr(self, f"build_{kind.lower()}")
        try:
            state: State = builder(name, raw, jsonata, language, path)
        except (PathSyntaxError, ValueError, TypeError) as err:
            self.problem(err.path if isinstance(err, FieldError) else path, where, str(err))
            state = State(name, kind, jsonata)  # go on: its transitions have problems too
        self.common(state, raw, kind, where, path)
        state.default_data_flow = _default_data_flow(state)
        return state

    # ------------------------------------------------------------------ shared fields

    def common(self, state: State, raw: dict[str, Any], kind: str, where: str, path: Path) -> None:
        if kind not in {"Choice", "Succeed", "Fail"}:
            has_next, has_end = "Next" in raw, raw.get("End") is True
            if has_next and has_end:
                self.problem(
                    (*path, "End"), where, "must have exactly one of 'Next' or 'End': true"
                )
            elif not has_next and not has_end:
                self.problem(path, where, "must have exactly one of 'Next' or 'End': true")
            if has_next:
                if not isinstance(raw["Next"], str):
                    self.problem((*path, "Next"), where, "Next must be a state name")
                else:
                    state.next = raw["Next"]
        try:
            self.common_paths(state, raw)
        except (PathSyntaxError, ValueError, TypeError) as err:
            self.problem(path, where, str(err))
        if "Retry" in raw:
            state.retriers = self.retriers(raw["Retry"], (*path, "Retry"), where)
        if "Catch" in raw:
            state.catchers = self.catchers(raw["Catch"], state.jsonata, (*path, "Catch"), where)

    def common_paths(self, state: State, raw: dict[str, Any]) -> None:
        if "InputPath" in raw:
            if raw["InputPath"] is None:
                state.input_null = True
            elif raw["InputPath"] != "$":
                state.input_path = compile_path(raw["InputPath"], field="InputPath")
                state.input_path_text = raw["InputPath"]
        if "OutputPath" in raw:
            if raw["OutputPath"] is None:
                state.output_null = True
            elif raw["OutputPath"] != "$":
                state.output_path = compile_path(raw["OutputPath"], field="OutputPath")
                state.output_path_text = raw["OutputPath"]
        if "ResultPath" in raw:
            text = raw["ResultPath"]
            if text is None:
                state.result_path = None
                state.result_path_text = "null"
            else:
                state.result_path = compile_reference_path(text, field="ResultPath")
                state.result_path_text = text
        if "ResultSelector" in raw:
            state.result_selector = compile_template(raw["ResultSelector"], field="ResultSelector")
        if "Assign" in raw:
            state.assign = self.assign(raw["Assign"], state.jsonata)
        if "Output" in raw:
            state.output = compile_jsonata(raw["Output"], field="Output")
        if "Parameters" in raw and state.type != "Map":
            state.parameters = compile_template(raw["Parameters"], field="Parameters")
        if "Arguments" in raw:
            state.parameters = compile_jsonata(raw["Arguments"], field="Arguments")

    def assign(self, raw: Any, jsonata: bool) -> Template | JsonataTemplate:
        if not isinstance(raw, dict):
            raise ValueError("Assign must be an object of variable names to values")
        for key in raw:
            name = key[:-2] if key.endswith(".$") and not jsonata else key
            if not name.isidentifier() or name.startswith("states"):
                raise ValueError(f"Assign: {name!r} is not a valid variable name")
        if jsonata:
            return compile_jsonata(raw, field="Assign")
        return compile_template(raw, field="Assign")

    def retriers(self, raw: Any, path: Path, where: str) -> tuple[Retrier, ...]:
        if not isinstance(raw, list):
            self.problem(path, where, "Retry must be an array")
            return ()
        out = []
        for index, rule in enumerate(raw):
            try:
                out.append(self.retrier(rule, index, last=index == len(raw) - 1))
            except (PathSyntaxError, ValueError, TypeError) as err:
                self.problem((*path, index), where, str(err))
        return tuple(out)

    def retrier(self, rule: Any, index: int, *, last: bool) -> Retrier:
        at = f"Retry[{index}]"
        if not isinstance(rule, dict):
            raise ValueError(f"{at} must be an object")
        errors = self.error_equals(rule, at, last=last)
        interval = rule.get("IntervalSeconds", 1)
        attempts = rule.get("MaxAttempts", 3)
        rate = rule.get("BackoffRate", 2.0)
        max_delay = rule.get("MaxDelaySeconds")
        jitter = rule.get("JitterStrategy", "NONE")
        if not is_int(interval) or interval < 1:
            raise ValueError(f"{at}.IntervalSeconds must be a positive integer")
        if not is_int(attempts) or attempts < 0:
            raise ValueError(f"{at}.MaxAttempts must be a non-negative integer")
        if not is_number(rate) or rate < 1.0:
            raise ValueError(f"{at}.BackoffRate must be a number >= 1.0")
        if max_delay is not None and (not is_int(max_delay) or max_delay < 1):
            raise ValueError(f"{at}.MaxDelaySeconds must be a positive integer")
        if jitter not in ("FULL", "NONE"):
            raise ValueError(f"{at}.JitterStrategy must be FULL or NONE")
        extra = set(rule) - {
            "ErrorEquals",
            "IntervalSeconds",
            "MaxAttempts",
            "BackoffRate",
            "MaxDelaySeconds",
            "JitterStrategy",
            "Comment",
        }
        if extra:
            raise ValueError(f"{at} has unknown field(s): {', '.join(sorted(extra))}")
        return Retrier(errors, float(interval), int(attempts), float(rate), max_delay, jitter)

    def catchers(self, raw: Any, jsonata: bool, path: Path, where: str) -> tuple[Catcher, ...]:
        if not isinstance(raw, list):
            self.problem(path, where, "Catch must be an array")
            return ()
        out = []
        for index, rule in enumerate(raw):
            try:
                out.append(self.catcher(rule, index, jsonata, last=index == len(raw) - 1))
            except (PathSyntaxError, ValueError, TypeError) as err:
                self.problem((*path, index), where, str(err))
        return tuple(out)

    def catcher(self, rule: Any, index: int, jsonata: bool, *, last: bool) -> Catcher:
        at = f"Catch[{index}]"
        if not isinstance(rule, dict):
            raise ValueError(f"{at} must be an object")
        errors = self.error_equals(rule, at, last=last)
        target = rule.get("Next")
        if not isinstance(target, str):
            raise ValueError(f"{at}.Next must be a state name")
        result_path: tuple[str | int, ...] | None = ()
        text = "$"
        if "ResultPath" in rule:
            if jsonata:
                raise ValueError(f"{at}.ResultPath cannot be used with QueryLanguage JSONata")
            text = rule["ResultPath"]
            result_path = (
                None if text is None else compile_reference_path(text, field=f"{at}.ResultPath")
            )
            text = "null" if text is None else text
        assign = self.assign(rule["Assign"], jsonata) if "Assign" in rule else None
        output = compile_jsonata(rule["Output"], field=f"{at}.Output") if "Output" in rule else None
        return Catcher(errors, target, result_path, text, assign, output)

    def error_equals(self, rule: dict[str, Any], at: str, *, last: bool) -> tuple[str, ...]:
        errors = rule.get("ErrorEquals")
        if (
            not isinstance(errors, list)
            or not errors
            or not all(isinstance(e, str) for e in errors)
        ):
            raise ValueError(f"{at}.ErrorEquals must be a non-empty array of error names")
        if "States.ALL" in errors and (len(errors) > 1 or not last):
            raise ValueError(f"{at}: States.ALL must appear alone, in the last rule")
        return tuple(errors)


# --------------------------------------------------------------------------- helpers


def _targets(state: State) -> list[tuple[str, Path]]:
    """Every state ``state`` may move to, with the key path of the field naming it."""
    out: list[tuple[str, Path]] = [(state.next, ("Next",))] if state.next else []
    if isinstance(state, ChoiceState):
        out.extend((b.next, ("Choices", i, "Next")) for i, b in enumerate(state.choices))
        if state.default:
            out.append((state.default, ("Default",)))
    out.extend((c.next, ("Catch", i, "Next")) for i, c in enumerate(state.catchers))
    return out


def _terminal(state: State) -> bool:
    return isinstance(state, SucceedState | FailState) or (
        state.next is None and not isinstance(state, ChoiceState)
    )


def _waits(state: State) -> bool:
    if isinstance(state, WaitState):
        return True
    if isinstance(state, ParallelState):
        return any(branch.waits for branch in state.branches)
    return isinstance(state, MapState) and state.processor is not None and state.processor.waits


def _default_data_flow(state: State) -> bool:
    return (
        not state.jsonata
        and state.input_path is None
        and not state.input_null
        and state.parameters is None
        and state.result_selector is None
        and state.assign is None
        and state.result_path == ()
        and state.output_path is None
        and not state.output_null
    )


def _pure(state: State) -> bool:
    if isinstance(state, TaskState):
        return False
    if isinstance(state, ParallelState):
        return all(branch.pure for branch in state.branches)
    if isinstance(state, MapState):
        return state.processor is not None and state.processor.pure
    return True
