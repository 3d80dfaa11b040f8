"""Parse and statically validate an ASL definition into typed, precompiled states.

:class:`StateMachine` is the loaded form of a definition: every path, template, choice
rule and intrinsic is compiled once, every Task resource resolved, and every problem
(unknown ``Next``, unreachable state, missing terminal state, bad path or intrinsic,
unresolvable resource, misplaced field) is reported at once in a
:class:`~cirrus.errors.DefinitionError` whose lines each name the state::

    machine = StateMachine.from_file("workflow.yml", registry=ResourceRegistry(runner))

YAML definitions may use CloudFormation tags: ``!GetAtt task.Arn`` becomes the marker
string ``"!GetAtt task.Arn"``, ``!Ref x`` becomes ``"!Ref x"``, ``!Sub s`` becomes ``s``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cirrus.engine.choice import Predicate, compile_rule
from cirrus.engine.jsonata_eval import JsonataTemplate, compile_jsonata, is_expression
from cirrus.engine.paths import (
    Getter,
    PathSyntaxError,
    Template,
    compile_path,
    compile_reference_path,
    compile_template,
    compile_value_expression,
)
from cirrus.engine.resources import ResourceError, ResourceRegistry, TaskHandler
from cirrus.engine.retry import Catcher, Retrier
from cirrus.errors import DefinitionError

__all__ = [
    "ChoiceBranch",
    "ChoiceState",
    "FailState",
    "Graph",
    "MapState",
    "ParallelState",
    "PassState",
    "State",
    "StateMachine",
    "SucceedState",
    "TaskState",
    "WaitState",
    "load_document",
]

JSONPATH = "JSONPath"
JSONATA = "JSONata"

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


# --------------------------------------------------------------------------- model


@dataclass(eq=False, slots=True)
class State:
    """Fields every state has, compiled.

    Attributes:
        name: the state's name.
        type: the ASL ``Type``.
        jsonata: the state uses the JSONata query language.
        next: the next state's name, or None at the end.
        input_path: compiled InputPath (None: the whole input; see ``input_null``).
        input_null: ``InputPath`` is null: the effective input is ``{}``.
        output_path: compiled OutputPath.
        output_null: ``OutputPath`` is null: the output is ``{}``.
        assign: compiled ``Assign`` (a Template or JsonataTemplate), or None.
        output: compiled JSONata ``Output``, or None.
        result_path: ResultPath steps, or None when ``ResultPath`` is null.
        result_path_text: the ResultPath as written.
        result_selector: compiled ResultSelector, or None.
        parameters: compiled Parameters (JSONPath) or Arguments (JSONata), or None.
        retriers: the ``Retry`` rules.
        catchers: the ``Catch`` rules.
        default_data_flow: a JSONPath state with every data-flow field at its default
            (InputPath, ResultPath and OutputPath ``$``; no Parameters, ResultSelector or
            Assign), so its input goes to its work and the result is its output, unchanged.
    """

    name: str
    type: str
    jsonata: bool = False
    next: str | None = None
    input_path: Getter | None = None
    input_null: bool = False
    input_path_text: str = "$"
    output_path: Getter | None = None
    output_null: bool = False
    output_path_text: str = "$"
    assign: Template | JsonataTemplate | None = None
    output: JsonataTemplate | None = None
    result_path: tuple[str | int, ...] | None = ()
    result_path_text: str = "$"
    result_selector: Template | None = None
    parameters: Template | JsonataTemplate | None = None
    retriers: tuple[Retrier, ...] = ()
    catchers: tuple[Catcher, ...] = ()
    default_data_flow: bool = False


@dataclass(eq=False, slots=True)
class PassState(State):
    """``Pass``: ``Result`` (when given) or the effective input becomes the result."""

    result: Any = None
    has_result: bool = False


@dataclass(eq=False, slots=True)
class TaskState(State):
    """``Task``: runs its resolved resource.

    Attributes:
        resource: the ``Resource`` as written.
        handler: what runs it.
        timeout: ``TimeoutSeconds`` (constant) or None.
        timeout_path: ``TimeoutSecondsPath`` getter, or a JSONata template.
        heartbeat: ``HeartbeatSeconds``, or None (accepted; local tasks send none).
    """

    resource: str = ""
    handler: TaskHandler | None = None
    timeout: float | None = None
    timeout_path: Getter | JsonataTemplate | None = None
    heartbeat: float | None = None


@dataclass(eq=False, slots=True)
class ChoiceBranch:
    """One Choice rule: its test, target, and per-rule Assign/Output."""

    predicate: Predicate | JsonataTemplate
    next: str
    assign: Template | JsonataTemplate | None = None
    output: JsonataTemplate | None = None


@dataclass(eq=False, slots=True)
class ChoiceState(State):
    """``Choice``: the first matching rule's ``Next``, else ``Default``."""

    choices: tuple[ChoiceBranch, ...] = ()
    default: str | None = None


@dataclass(eq=False, slots=True)
class WaitState(State):
    """``Wait`` for a number of seconds or until a timestamp."""

    seconds: float | None = None
    timestamp: str | None = None
    seconds_path: Getter | None = None
    timestamp_path: Getter | None = None
    seconds_text: str = ""
    timestamp_text: str = ""
    seconds_expr: JsonataTemplate | None = None
    timestamp_expr: JsonataTemplate | None = None


@dataclass(eq=False, slots=True)
class SucceedState(State):
    """``Succeed``: ends the execution (or branch) successfully."""


@dataclass(eq=False, slots=True)
class FailState(State):
    """``Fail``: ends the execution with ``Error`` and ``Cause``."""

    error: Any = None
    cause: Any = None
    error_path: Getter | None = None
    cause_path: Getter | None = None
    error_text: str = ""
    cause_text: str = ""


@dataclass(eq=False, slots=True)
class ParallelState(State):
    """``Parallel``: runs every branch on the same input; the result is their outputs."""

    branches: tuple[Graph, ...] = ()


@dataclass(eq=False, slots=True)
class MapState(State):
    """``Map``: runs its ItemProcessor once per item (or per batch of items).

    Attributes:
        processor: the ItemProcessor (or legacy Iterator) graph.
        items_path: ItemsPath getter (JSONPath), None for the effective input.
        items_text: the ItemsPath as written.
        items: JSONata ``Items``, or None.
        item_selector: ItemSelector (or legacy Parameters), or None.
        item_reader: the ``ItemReader`` object as written, or None.
        item_batcher: the ``ItemBatcher`` object as written, or None.
        result_writer: the ``ResultWriter`` object as written, or None.
        max_concurrency: ``MaxConcurrency`` (0: no limit).
        tolerated_count: ``ToleratedFailureCount``, or None.
        tolerated_percentage: ``ToleratedFailurePercentage``, or None.
        dynamic: ``...Path`` (or JSONata) forms of the three numbers above, by field.
        distributed: ``ProcessorConfig.Mode`` is ``DISTRIBUTED``.
    """

    processor: Graph | None = None
    items_path: Getter | None = None
    items_text: str = "$"
    items: JsonataTemplate | None = None
    item_selector: Template | JsonataTemplate | None = None
    item_reader: dict[str, Any] | None = None
    item_batcher: dict[str, Any] | None = None
    result_writer: dict[str, Any] | None = None
    max_concurrency: int = 0
    tolerated_count: float | None = None
    tolerated_percentage: float | None = None
    dynamic: dict[str, Getter | JsonataTemplate] = field(default_factory=dict)
    distributed: bool = False


@dataclass(eq=False, slots=True)
class Graph:
    """A set of states with a start: the machine itself, a Parallel branch, a Map processor.

    Attributes:
        start_at: the first state.
        states: the states by name.
        pure: no Task anywhere inside, so it can run in-line without threads.
        waits: a Wait state somewhere inside (in-line only when time is scaled to 0).
    """

    start_at: str
    states: dict[str, State]
    pure: bool = True
    waits: bool = False


@dataclass(eq=False)
class StateMachine:
    """A loaded, validated definition, ready to run with :func:`~cirrus.engine.run_execution`.

    Attributes:
        definition: the definition as parsed (plain JSON).
        graph: the top-level states.
        timeout_seconds: the execution's ``TimeoutSeconds``, or None.
        query_language: the top-level ``QueryLanguage``.
        name: a name for the machine (the file stem when loaded from a file).
    """

    definition: dict[str, Any]
    graph: Graph
    timeout_seconds: float | None = None
    query_language: str = JSONPATH
    name: str = "StateMachine"

    @classmethod
    def from_dict(
        cls,
        definition: Any,
        *,
        registry: ResourceRegistry | None = None,
        name: str = "StateMachine",
    ) -> StateMachine:
        """Load a parsed definition.

        Raises:
            DefinitionError: the definition is not valid; every problem is listed.
        """
        return _Compiler(registry or ResourceRegistry()).machine(definition, name)

    @classmethod
    def from_string(
        cls, text: str, *, registry: ResourceRegistry | None = None, name: str = "StateMachine"
    ) -> StateMachine:
        """Load a JSON or YAML definition from text."""
        return cls.from_dict(load_document(text), registry=registry, name=name)

    @classmethod
    def from_file(
        cls, path: str | Path, *, registry: ResourceRegistry | None = None
    ) -> StateMachine:
        """Load a JSON or YAML definition file.

        Raises:
            DefinitionError: the file cannot be read or parsed, or is not valid ASL.
        """
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as err:
            raise DefinitionError(f"cannot read definition {path}: {err.strerror or err}") from err
        return cls.from_string(text, registry=registry, name=path.stem)


# --------------------------------------------------------------------------- documents


def load_document(text: str) -> Any:
    """Parse JSON, or YAML with CloudFormation tags; unwrap ``{"definition": ...}``.

    Raises:
        DefinitionError: the text is neither valid JSON nor valid YAML.
    """
    try:
        document = json.loads(text)
    except ValueError:
        import yaml

        try:
            document = yaml.load(text, Loader=_cfn_loader())  # noqa: S506 - SafeLoader subclass
        except yaml.YAMLError as err:
            raise DefinitionError(f"the definition is neither valid JSON nor YAML: {err}") from err
    if (
        isinstance(document, dict)
        and "States" not in document
        and isinstance(document.get("definition"), dict)
    ):
        document = document["definition"]
    return document


_LOADER: Any = None


def _cfn_loader() -> Any:
    """A yaml SafeLoader that keeps CloudFormation tags as marker strings."""
    global _LOADER
    if _LOADER is not None:
        return _LOADER
    import yaml

    class CfnLoader(yaml.SafeLoader):
        pass

    def tagged(loader: Any, tag_suffix: str, node: Any) -> Any:
        tag = "!" + tag_suffix
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
            if tag == "!Sub":
                return value
            return f"{tag} {value}"
        if isinstance(node, yaml.SequenceNode):
            values = loader.construct_sequence(node, deep=True)
            if tag == "!GetAtt":
                return "!GetAtt " + ".".join(str(v) for v in values)
            if tag == "!Sub" and values:
                return values[0]
            return {f"Fn::{tag_suffix}": values}
        return {f"Fn::{tag_suffix}": loader.construct_mapping(node, deep=True)}

    CfnLoader.add_multi_constructor("!", tagged)
    _LOADER = CfnLoader
    return CfnLoader


# --------------------------------------------------------------------------- compiler


class _Compiler:
    """Turns a parsed definition into a StateMachine, collecting every problem."""

    def __init__(self, registry: ResourceRegistry) -> None:
        self.registry = registry
        self.problems: list[str] = []

    def problem(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def machine(self, definition: Any, name: str) -> StateMachine:
        if not isinstance(definition, dict):
            raise DefinitionError("Invalid state machine definition: it must be a JSON object")
        language = definition.get("QueryLanguage", JSONPATH)
        if language not in (JSONPATH, JSONATA):
            self.problem("QueryLanguage", f"must be {JSONPATH} or {JSONATA}, got {language!r}")
            language = JSONPATH
        timeout = definition.get("TimeoutSeconds")
        if timeout is not None and (not _is_int(timeout) or timeout <= 0):
            self.problem("TimeoutSeconds", "must be a positive integer")
            timeout = None
        unknown = set(definition) - {
            "StartAt",
            "States",
            "Comment",
            "Version",
            "TimeoutSeconds",
            "QueryLanguage",
        }
        if unknown:
            self.problem("definition", f"unknown top-level field(s): {', '.join(sorted(unknown))}")
        graph = self.graph(definition, language, "")
        if self.problems:
            lines = "\n".join(f"  - {p}" for p in self.problems)
            raise DefinitionError(f"Invalid state machine definition:\n{lines}")
        return StateMachine(definition, graph, float(timeout) if timeout else None, language, name)

    def graph(self, spec: Any, language: str, where: str) -> Graph:
        prefix = f"{where}." if where else ""
        if not isinstance(spec, dict):
            self.problem(where or "definition", "must be an object with StartAt and States")
            return Graph("", {})
        start = spec.get("StartAt")
        raw_states = spec.get("States")
        if not isinstance(raw_states, dict) or not raw_states:
            self.problem(f"{prefix}States", "must be a non-empty object of states")
            return Graph(str(start), {})
        if not isinstance(start, str) or start not in raw_states:
            self.problem(f"{prefix}StartAt", f"names no state: {start!r}")
        states: dict[str, State] = {}
        for name, raw in raw_states.items():
            if len(name) > 80:
                self.problem(f"State '{name}'", "the name is longer than 80 characters")
            state = self.state(name, raw, language)
            if state is not None:
                states[name] = state
        self.check_graph(start, raw_states, states, where)
        pure = all(_pure(state) for state in states.values())
        return Graph(str(start), states, pure, any(_waits(state) for state in states.values()))

    def check_graph(
        self, start: Any, raw_states: dict[str, Any], states: dict[str, State], where: str
    ) -> None:
        targets: dict[str, list[str]] = {}
        for name, state in states.items():
            targets[name] = _targets(state)
            for target in targets[name]:
                if target not in raw_states:
                    self.problem(
                        f"State '{name}'", f"MISSING_TRANSITION_TARGET: no state named {target!r}"
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
                self.problem(f"State '{name}'", "UNREACHABLE_STATE: no transition leads to it")
        if not any(_terminal(states[name]) for name in seen):
            scope = f" in {where}" if where else ""
            self.problem(
                f"StartAt '{start}'",
                f"MISSING_TERMINAL_STATE: no reachable state ends the workflow{scope}",
            )

    def state(self, name: str, raw: Any, inherited: str) -> State | None:
        where = f"State '{name}'"
        if not isinstance(raw, dict):
            self.problem(where, "must be an object")
            return None
        kind = raw.get("Type")
        if kind not in _ALLOWED:
            self.problem(where, f"Type must be one of {', '.join(_ALLOWED)}, got {kind!r}")
            return None
        language = raw.get("QueryLanguage", inherited)
        if language not in (JSONPATH, JSONATA):
            self.problem(where, f"QueryLanguage must be {JSONPATH} or {JSONATA}")
            language = inherited
        if inherited == JSONATA and language == JSONPATH:
            self.problem(where, "a JSONPath state cannot be inside a JSONata state machine")
        jsonata = language == JSONATA
        unknown = set(raw) - _ALLOWED[kind]
        if unknown:
            self.problem(
                where,
                f"SCHEMA_VALIDATION_FAILED: field(s) not allowed in a {kind} state: "
                f"{', '.join(sorted(unknown))}",
            )
        wrong = set(raw) & (_JSONPATH_ONLY if jsonata else _JSONATA_ONLY)
        if wrong:
            self.problem(
                where,
                f"field(s) {', '.join(sorted(wrong))} cannot be used with QueryLanguage {language}",
            )
        builder = getattr(self, f"build_{kind.lower()}")
        try:
            state: State = builder(name, raw, jsonata, language)
        except (PathSyntaxError, ResourceError, ValueError, TypeError) as err:
            self.problem(where, str(err))
            return None
        self.common(state, raw, kind, where)
        state.default_data_flow = _default_data_flow(state)
        return state

    # ------------------------------------------------------------------ shared fields

    def common(self, state: State, raw: dict[str, Any], kind: str, where: str) -> None:
        if kind not in {"Choice", "Succeed", "Fail"}:
            has_next, has_end = "Next" in raw, raw.get("End") is True
            if has_next == has_end:
                self.problem(where, "must have exactly one of 'Next' or 'End': true")
            if has_next:
                if not isinstance(raw["Next"], str):
                    self.problem(where, "Next must be a state name")
                else:
                    state.next = raw["Next"]
        try:
            self.common_paths(state, raw)
            if "Retry" in raw or "Catch" in raw:
                state.retriers = self.retriers(raw.get("Retry", []))
                state.catchers = self.catchers(raw.get("Catch", []), state.jsonata)
        except (PathSyntaxError, ValueError, TypeError) as err:
            self.problem(where, str(err))

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

    def retriers(self, raw: Any) -> tuple[Retrier, ...]:
        if not isinstance(raw, list):
            raise ValueError("Retry must be an array")
        out = []
        for index, rule in enumerate(raw):
            at = f"Retry[{index}]"
            if not isinstance(rule, dict):
                raise ValueError(f"{at} must be an object")
            errors = self.error_equals(rule, at, last=index == len(raw) - 1)
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
            out.append(
                Retrier(errors, float(interval), int(attempts), float(rate), max_delay, jitter)
            )
        return tuple(out)

    def catchers(self, raw: Any, jsonata: bool) -> tuple[Catcher, ...]:
        if not isinstance(raw, list):
            raise ValueError("Catch must be an array")
        out = []
        for index, rule in enumerate(raw):
            at = f"Catch[{index}]"
            if not isinstance(rule, dict):
                raise ValueError(f"{at} must be an object")
            errors = self.error_equals(rule, at, last=index == len(raw) - 1)
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
            output = (
                compile_jsonata(rule["Output"], field=f"{at}.Output") if "Output" in rule else None
            )
            out.append(Catcher(errors, target, result_path, text, assign, output))
        return tuple(out)

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

    def build_pass(self, name: str, raw: dict[str, Any], jsonata: bool, language: str) -> State:
        return PassState(
            name, "Pass", jsonata, result=raw.get("Result"), has_result="Result" in raw
        )

    def build_task(self, name: str, raw: dict[str, Any], jsonata: bool, language: str) -> State:
        resource = raw.get("Resource")
        if not isinstance(resource, str) or not resource:
            raise ValueError("Task needs a Resource string")
        parameters = raw.get("Arguments" if jsonata else "Parameters")
        handler = self.registry.resolve(resource, parameters, name)
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

    def build_choice(self, name: str, raw: dict[str, Any], jsonata: bool, language: str) -> State:
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

    def build_wait(self, name: str, raw: dict[str, Any], jsonata: bool, language: str) -> State:
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
            from cirrus.engine.choice import parse_timestamp

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

    def build_succeed(self, name: str, raw: dict[str, Any], jsonata: bool, language: str) -> State:
        return SucceedState(name, "Succeed", jsonata)

    def build_fail(self, name: str, raw: dict[str, Any], jsonata: bool, language: str) -> State:
        state = FailState(name, "Fail", jsonata)
        for key in ("Error", "Cause"):
            value = raw.get(key)
            if f"{key}Path" in raw:
                if key in raw:
                    raise ValueError(f"use {key} or {key}Path, not both")
                path = raw[f"{key}Path"]
                getter = compile_value_expression(path, field=f"{key}Path")
                setattr(state, f"{key.lower()}_path", getter)
                setattr(state, f"{key.lower()}_text", path)
            elif value is not None:
                if jsonata and is_expression(value):
                    value = compile_jsonata(value, field=key)
                elif not isinstance(value, str):
                    raise ValueError(f"{key} must be a string")
                setattr(state, key.lower(), value)
        return state

    def build_parallel(self, name: str, raw: dict[str, Any], jsonata: bool, language: str) -> State:
        branches = raw.get("Branches")
        if not isinstance(branches, list) or not branches:
            raise ValueError("Branches must be a non-empty array")
        graphs = tuple(
            self.graph(branch, _language(branch, language), f"State '{name}'.Branches[{i}]")
            for i, branch in enumerate(branches)
        )
        return ParallelState(name, "Parallel", jsonata, branches=graphs)

    def build_map(self, name: str, raw: dict[str, Any], jsonata: bool, language: str) -> State:
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
        processor = self.graph(
            graph_spec, _language(graph_spec, language), f"State '{name}'.ItemProcessor"
        )
        state = MapState(
            name, "Map", jsonata, processor=processor, distributed=mode == "DISTRIBUTED"
        )
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


def _targets(state: State) -> list[str]:
    out = [state.next] if state.next else []
    if isinstance(state, ChoiceState):
        out.extend(branch.next for branch in state.choices)
        if state.default:
            out.append(state.default)
    out.extend(catcher.next for catcher in state.catchers)
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
