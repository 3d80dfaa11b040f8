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

from cirrus.engine.choice import Predicate, compile_rule, parse_timestamp
from cirrus.engine.integrations import bind_task
from cirrus.engine.jsonata_eval import JsonataTemplate, compile_jsonata, is_expression
from cirrus.engine.paths import (
    PathSyntaxError,
    Template,
    compile_path,
    compile_reference_path,
    compile_template,
    compile_value_expression,
)
from cirrus.engine.retry import Catcher, Retrier
from cirrus.engine.states import (
    JSONATA,
    JSONPATH,
    ChoiceBranch,
    ChoiceState,
    FailState,
    Graph,
    MapState,
    ParallelState,
    PassState,
    State,
    SucceedState,
    TaskState,
    WaitState,
)
from cirrus.engine.tasks import ResourceError, TaskResolver
from cirrus.errors import DefinitionError, DefinitionProblem

__all__ = ["Compiled", "compile_definition"]

Path = tuple[str | int, ...]


class _FieldError(ValueError):
    """A problem found inside a state, at a field more precise than the state itself."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(message)
        self.path = path


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


class _Compiler:
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
        if timeout is not None and (not _is_int(timeout) or timeout <= 0):
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
            self.problem(err.path if isinstance(err, _FieldError) else path, where, str(err))
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
        if not _is_int(interval) or interval < 1:
            raise ValueError(f"{at}.IntervalSeconds must be a positive integer")
        if not _is_int(attempts) or attempts < 0:
            raise ValueError(f"{at}.MaxAttempts must be a non-negative integer")
        if not _is_number(rate) or rate < 1.0:
            raise ValueError(f"{at}.BackoffRate must be a number >= 1.0")
        if max_delay is not None and (not _is_int(max_delay) or max_delay < 1):
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

    # ------------------------------------------------------------------ state types

    def build_pass(
        self, name: str, raw: dict[str, Any], jsonata: bool, language: str, path: Path
    ) -> State:
        return PassState(
            name, "Pass", jsonata, result=raw.get("Result"), has_result="Result" in raw
        )

    def build_task(
        self, name: str, raw: dict[str, Any], jsonata: bool, language: str, path: Path
    ) -> State:
        resource = raw.get("Resource")
        if not isinstance(resource, str | dict) or not resource:
            raise _FieldError((*path, "Resource"), "Task needs a Resource string")
        try:
            handler = bind_task(raw, jsonata, self.resolver, path)
        except ResourceError as err:
            raise _FieldError(err.path or (*path, "Resource"), str(err)) from None
        state = TaskState(name, "Task", jsonata, resource=resource, handler=handler)
        timeout = raw.get("TimeoutSeconds")
        if timeout is not None:
            if jsonata and is_expression(timeout):
                state.timeout_path = compile_jsonata(timeout, field="TimeoutSeconds")
            elif not _is_int(timeout) or timeout <= 0:
                raise ValueError("TimeoutSeconds must be a positive integer")
            else:
                state.timeout = float(timeout)
        if "TimeoutSecondsPath" in raw:
            if timeout is not None:
                raise ValueError("use TimeoutSeconds or TimeoutSecondsPath, not both")
            state.timeout_path = compile_path(
                raw["TimeoutSecondsPath"], field="TimeoutSecondsPath", definite=True
            )
        heartbeat = raw.get("HeartbeatSeconds")
        if heartbeat is not None and not (jsonata and is_expression(heartbeat)):
            if not _is_int(heartbeat) or heartbeat <= 0:
                raise ValueError("HeartbeatSeconds must be a positive integer")
            if state.timeout is not None and heartbeat >= state.timeout:
                raise ValueError("HeartbeatSeconds must be smaller than TimeoutSeconds")
            state.heartbeat = float(heartbeat)
        if "HeartbeatSecondsPath" in raw:
            compile_path(raw["HeartbeatSecondsPath"], field="HeartbeatSecondsPath", definite=True)
        return state

    def build_choice(
        self, name: str, raw: dict[str, Any], jsonata: bool, language: str, path: Path
    ) -> State:
        rules = raw.get("Choices")
        if not isinstance(rules, list) or not rules:
            raise ValueError("Choices must be a non-empty array of rules")
        if "Next" in raw or "End" in raw:
            raise ValueError("a Choice state cannot have Next or End; use Choices and Default")
        branches = []
        for index, rule in enumerate(rules):
            at = f"Choices[{index}]"
            if not isinstance(rule, dict) or not isinstance(rule.get("Next"), str):
                raise ValueError(f"{at} needs a Next state name")
            predicate: Predicate | JsonataTemplate
            if jsonata:
                if "Condition" not in rule:
                    raise ValueError(f"{at} needs a Condition in a JSONata state")
                predicate = compile_jsonata(rule["Condition"], field=f"{at}.Condition")
            else:
                body = {k: v for k, v in rule.items() if k not in {"Assign", "Output"}}
                predicate = compile_rule(body, field=at)
            assign = self.assign(rule["Assign"], jsonata) if "Assign" in rule else None
            output = (
                compile_jsonata(rule["Output"], field=f"{at}.Output") if "Output" in rule else None
            )
            branches.append(ChoiceBranch(predicate, rule["Next"], assign, output))
        default = raw.get("Default")
        if default is not None and not isinstance(default, str):
            raise ValueError("Default must be a state name")
        return ChoiceState(name, "Choice", jsonata, choices=tuple(branches), default=default)

    def build_wait(
        self, name: str, raw: dict[str, Any], jsonata: bool, language: str, path: Path
    ) -> State:
        given = [
            key for key in ("Seconds", "Timestamp", "SecondsPath", "TimestampPath") if key in raw
        ]
        if len(given) != 1:
            raise ValueError(
                "Wait needs exactly one of Seconds, Timestamp, SecondsPath or TimestampPath"
            )
        state = WaitState(name, "Wait", jsonata)
        key = given[0]
        value = raw[key]
        if key == "Seconds":
            if jsonata and is_expression(value):
                state.seconds_expr = compile_jsonata(value, field="Seconds")
            elif not _is_int(value) or value < 0:
                raise ValueError("Seconds must be a non-negative integer")
            else:
                state.seconds = float(value)
        elif key == "Timestamp":
            if jsonata and is_expression(value):
                state.timestamp_expr = compile_jsonata(value, field="Timestamp")
            elif parse_timestamp(value) is None:
                raise ValueError("Timestamp must be an ISO-8601 timestamp with a time zone")
            else:
                state.timestamp = value
        elif key == "SecondsPath":
            state.seconds_path = compile_path(value, field="SecondsPath", definite=True)
            state.seconds_text = value
        else:
            state.timestamp_path = compile_path(value, field="TimestampPath", definite=True)
            state.timestamp_text = value
        return state

    def build_succeed(
        self, name: str, raw: dict[str, Any], jsonata: bool, language: str, path: Path
    ) -> State:
        return SucceedState(name, "Succeed", jsonata)

    def build_fail(
        self, name: str, raw: dict[str, Any], jsonata: bool, language: str, path: Path
    ) -> State:
        state = FailState(name, "Fail", jsonata)
        for key in ("Error", "Cause"):
            value = raw.get(key)
            if f"{key}Path" in raw:
                if key in raw:
                    raise ValueError(f"use {key} or {key}Path, not both")
                text = raw[f"{key}Path"]
                getter = compile_value_expression(text, field=f"{key}Path")
                setattr(state, f"{key.lower()}_path", getter)
                setattr(state, f"{key.lower()}_text", text)
            elif value is not None:
                if jsonata and is_expression(value):
                    value = compile_jsonata(value, field=key)
                elif not isinstance(value, str):
                    raise ValueError(f"{key} must be a string")
                setattr(state, key.lower(), value)
        return state

    def build_parallel(
        self, name: str, raw: dict[str, Any], jsonata: bool, language: str, path: Path
    ) -> State:
        branches = raw.get("Branches")
        if not isinstance(branches, list) or not branches:
            raise ValueError("Branches must be a non-empty array")
        graphs = tuple(
            self.graph(
                branch,
                _language(branch, language),
                f"State '{name}'.Branches[{i}]",
                (*path, "Branches", i),
            )
            for i, branch in enumerate(branches)
        )
        return ParallelState(name, "Parallel", jsonata, branches=graphs)

    def build_map(
        self, name: str, raw: dict[str, Any], jsonata: bool, language: str, path: Path
    ) -> State:
        processor_spec = raw.get("ItemProcessor", raw.get("Iterator"))
        if processor_spec is None or ("ItemProcessor" in raw and "Iterator" in raw):
            raise ValueError("Map needs exactly one of ItemProcessor or Iterator")
        config = (
            processor_spec.get("ProcessorConfig", {}) if isinstance(processor_spec, dict) else {}
        )
        mode = config.get("Mode", "INLINE") if isinstance(config, dict) else "INLINE"
        if mode not in ("INLINE", "DISTRIBUTED"):
            raise ValueError("ItemProcessor.ProcessorConfig.Mode must be INLINE or DISTRIBUTED")
        graph_spec = (
            {k: v for k, v in processor_spec.items() if k != "ProcessorConfig"}
            if isinstance(processor_spec, dict)
            else processor_spec
        )
        key = "ItemProcessor" if "ItemProcessor" in raw else "Iterator"
        processor = self.graph(
            graph_spec, _language(graph_spec, language), f"State '{name}'.{key}", (*path, key)
        )
        state = MapState(name, "Map", jsonata, processor=processor)
        if "ItemsPath" in raw:
            state.items_text = raw["ItemsPath"]
            if raw["ItemsPath"] != "$":
                state.items_path = compile_path(raw["ItemsPath"], field="ItemsPath", definite=True)
        if "Items" in raw:
            state.items = compile_jsonata(raw["Items"], field="Items")
        if "ItemSelector" in raw and "Parameters" in raw:
            raise ValueError("use ItemSelector or Parameters, not both")
        selector = raw.get("ItemSelector", raw.get("Parameters"))
        if selector is not None:
            state.item_selector = (
                compile_jsonata(selector, field="ItemSelector")
                if jsonata
                else compile_template(selector, field="ItemSelector")
            )
        for key, attr in (
            ("ItemReader", "item_reader"),
            ("ItemBatcher", "item_batcher"),
            ("ResultWriter", "result_writer"),
        ):
            if key in raw:
                if not isinstance(raw[key], dict):
                    raise ValueError(f"{key} must be an object")
                setattr(state, attr, raw[key])
        if state.item_reader is not None:
            self.check_reader(state.item_reader)
        if state.result_writer is not None:
            resource = state.result_writer.get("Resource")
            if resource != "arn:aws:states:::s3:putObject":
                raise ValueError("ResultWriter.Resource must be arn:aws:states:::s3:putObject")
        self.map_numbers(state, raw, jsonata)
        return state

    def check_reader(self, reader: dict[str, Any]) -> None:
        resource = reader.get("Resource")
        if resource not in ("arn:aws:states:::s3:getObject", "arn:aws:states:::s3:listObjectsV2"):
            raise ValueError(
                "ItemReader.Resource must be arn:aws:states:::s3:getObject or "
                "arn:aws:states:::s3:listObjectsV2"
            )
        reader_config = reader.get("ReaderConfig", {})
        input_type = (
            reader_config.get("InputType", "JSON") if isinstance(reader_config, dict) else None
        )
        if resource.endswith("getObject") and input_type not in ("JSON", "JSONL", "CSV"):
            raise ValueError("ItemReader.ReaderConfig.InputType must be JSON, JSONL or CSV")

    def map_numbers(self, state: MapState, raw: dict[str, Any], jsonata: bool) -> None:
        for key in ("MaxConcurrency", "ToleratedFailureCount", "ToleratedFailurePercentage"):
            if f"{key}Path" in raw:
                if key in raw:
                    raise ValueError(f"use {key} or {key}Path, not both")
                state.dynamic[key] = compile_path(
                    raw[f"{key}Path"], field=f"{key}Path", definite=True
                )
                continue
            if key not in raw:
                continue
            value = raw[key]
            if jsonata and is_expression(value):
                state.dynamic[key] = compile_jsonata(value, field=key)
                continue
            if key == "ToleratedFailurePercentage":
                if not _is_number(value) or not 0 <= value <= 100:
                    raise ValueError("ToleratedFailurePercentage must be a number from 0 to 100")
                state.tolerated_percentage = float(value)
            elif not _is_int(value) or value < 0:
                raise ValueError(f"{key} must be a non-negative integer")
            elif key == "MaxConcurrency":
                state.max_concurrency = int(value)
            else:
                state.tolerated_count = float(value)


# --------------------------------------------------------------------------- helpers


def _language(spec: Any, inherited: str) -> str:
    if isinstance(spec, dict) and spec.get("QueryLanguage") in (JSONPATH, JSONATA):
        return str(spec["QueryLanguage"])
    return inherited


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


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
