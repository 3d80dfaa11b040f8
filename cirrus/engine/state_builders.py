"""Compiling each ASL state type: the ``build_<type>`` half of the compiler.

Each builder checks the fields of one state type and compiles them into its state class;
a problem raises ``ValueError`` (the state is at fault) or :class:`FieldError` (a field
inside it is). :class:`~cirrus.engine.compiler` runs them and collects the problems.
"""

from __future__ import annotations

from typing import Any

from cirrus.engine.choice import Predicate, compile_rule, parse_timestamp
from cirrus.engine.integrations import bind_task
from cirrus.engine.jsonata_eval import JsonataTemplate, compile_jsonata, is_expression
from cirrus.engine.limits import result_too_large
from cirrus.engine.paths import (
    Template,
    compile_path,
    compile_template,
    compile_value_expression,
)
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

__all__ = ["FieldError", "Path", "StateBuilders", "is_int", "is_number", "language_of"]

Path = tuple[str | int, ...]


class FieldError(ValueError):
    """A problem found inside a state, at a field more precise than the state itself."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(message)
        self.path = path


class StateBuilders:
    """The per-type builders; the compiler supplies ``graph`` and ``assign``."""

    resolver: TaskResolver

    def graph(self, spec: Any, language: str, where: str, path: Path) -> Graph:
        raise NotImplementedError

    def assign(self, raw: Any, jsonata: bool) -> Template | JsonataTemplate:
        raise NotImplementedError

    def build_pass(
        self, name: str, raw: dict[str, Any], jsonata: bool, language: str, path: Path
    ) -> State:
        return PassState(
            name,
            "Pass",
            jsonata,
            result=raw.get("Result"),
            has_result="Result" in raw,
            result_too_large="Result" in raw and result_too_large(raw["Result"]),
        )

    def build_task(
        self, name: str, raw: dict[str, Any], jsonata: bool, language: str, path: Path
    ) -> State:
        resource = raw.get("Resource")
        if not isinstance(resource, str | dict) or not resource:
            raise FieldError((*path, "Resource"), "Task needs a Resource string")
        try:
            handler = bind_task(raw, jsonata, self.resolver, path)
        except ResourceError as err:
            raise FieldError(err.path or (*path, "Resource"), str(err)) from None
        state = TaskState(name, "Task", jsonata, resource=resource, handler=handler)
        timeout = raw.get("TimeoutSeconds")
        if timeout is not None:
            if jsonata and is_expression(timeout):
                state.timeout_path = compile_jsonata(timeout, field="TimeoutSeconds")
            elif not is_int(timeout) or timeout <= 0:
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
        if jsonata and is_expression(heartbeat):
            state.heartbeat_path = compile_jsonata(heartbeat, field="HeartbeatSeconds")
        elif heartbeat is not None:
            if not is_int(heartbeat) or heartbeat <= 0:
                raise ValueError("HeartbeatSeconds must be a positive integer")
            if state.timeout is not None and heartbeat >= state.timeout:
                raise ValueError("HeartbeatSeconds must be smaller than TimeoutSeconds")
            state.heartbeat = float(heartbeat)
        if "HeartbeatSecondsPath" in raw:
            state.heartbeat_path = compile_path(
                raw["HeartbeatSecondsPath"], field="HeartbeatSecondsPath", definite=True
            )
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
            elif not is_int(value) or value < 0:
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
                language_of(branch, language),
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
            graph_spec, language_of(graph_spec, language), f"State '{name}'.{key}", (*path, key)
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
                state.dynamic_paths[key] = raw[f"{key}Path"]
                continue
            if key not in raw:
                continue
            value = raw[key]
            if jsonata and is_expression(value):
                state.dynamic[key] = compile_jsonata(value, field=key)
                continue
            if key == "ToleratedFailurePercentage":
                if not is_number(value) or not 0 <= value <= 100:
                    raise ValueError("ToleratedFailurePercentage must be a number from 0 to 100")
                state.tolerated_percentage = float(value)
            elif not is_int(value) or value < 0:
                raise ValueError(f"{key} must be a non-negative integer")
            elif key == "MaxConcurrency":
                state.max_concurrency = int(value)
            else:
                state.tolerated_count = float(value)


def language_of(spec: Any, inherited: str) -> str:
    if isinstance(spec, dict) and spec.get("QueryLanguage") in (JSONPATH, JSONATA):
        return str(spec["QueryLanguage"])
    return inherited


def is_int(value: Any) -> bool:
    """An integer, including an integral float such as ``10.0`` (Step Functions accepts it, and
    upstream Cirrus definitions write ``IntervalSeconds: 10.0``)."""
    if isinstance(value, float):
        return value.is_integer()
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
