"""The compiled form of a state machine: one dataclass per ASL state type.

:mod:`cirrus.engine.compiler` builds these from a definition; the runner and the
transition functions read them. Nothing here parses or runs anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cirrus.engine.choice import Predicate
from cirrus.engine.integrations import BoundTask
from cirrus.engine.jsonata_eval import JsonataTemplate
from cirrus.engine.paths import Getter, Template
from cirrus.engine.retry import Catcher, Retrier

__all__ = [
    "JSONATA",
    "JSONPATH",
    "ChoiceBranch",
    "ChoiceState",
    "FailState",
    "Graph",
    "MapState",
    "ParallelState",
    "PassState",
    "State",
    "SucceedState",
    "TaskState",
    "WaitState",
]

JSONPATH = "JSONPath"
JSONATA = "JSONata"


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
    result_too_large: bool = False


@dataclass(eq=False, slots=True)
class TaskState(State):
    """``Task``: runs its resolved resource.

    Attributes:
        resource: the ``Resource`` as written (a string, or a CloudFormation reference).
        handler: what runs it, resolved when the machine loads.
        timeout: ``TimeoutSeconds`` (constant) or None.
        timeout_path: ``TimeoutSecondsPath`` getter, or a JSONata template.
        heartbeat: ``HeartbeatSeconds``, or None. Enforced while a ``.waitForTaskToken``
            state waits (heartbeats come with its token); other tasks send none.
        heartbeat_path: ``HeartbeatSecondsPath`` getter, or a JSONata template.
    """

    resource: Any = ""
    handler: BoundTask | None = None
    timeout: float | None = None
    timeout_path: Getter | JsonataTemplate | None = None
    heartbeat: float | None = None
    heartbeat_path: Getter | JsonataTemplate | None = None


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
        dynamic_paths: the ``...Path`` texts as written, by field, for messages.
        distributed: ``ProcessorConfig.Mode`` is ``DISTRIBUTED``: each item runs as a child
            execution with a history of its own (``MapRunStarted`` in this one).
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
    dynamic_paths: dict[str, str] = field(default_factory=dict)
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
