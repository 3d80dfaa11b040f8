"""A loaded, validated state machine, from a parsed definition, JSON or YAML text, or a file.

    machine = StateMachine.from_file("workflow.yml", resolver=PythonFunctions({"f": f}))

YAML definitions may use CloudFormation tags; they load as CloudFormation's JSON forms
(``!GetAtt task.Arn`` is ``{"Fn::GetAtt": ["task", "Arn"]}``), which a task resolver may
recognise. Problems are raised together in a :class:`~cirrus.errors.DefinitionError`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cirrus._yaml import YamlSyntaxError, load_yaml_data
from cirrus.engine.compiler import compile_definition
from cirrus.engine.states import JSONPATH, Graph
from cirrus.engine.tasks import NoTasks, TaskResolver
from cirrus.errors import DefinitionError

__all__ = ["StateMachine", "load_document"]


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

    def uses_task_tokens(self) -> bool:
        """Whether a Task state anywhere waits for a task token (``.waitForTaskToken``)."""
        from cirrus.engine.states import MapState, ParallelState, TaskState

        graphs = [self.graph]
        while graphs:
            graph = graphs.pop()
            for state in graph.states.values():
                if isinstance(state, TaskState) and state.handler and state.handler.callback:
                    return True
                if isinstance(state, MapState) and state.processor is not None:
                    graphs.append(state.processor)
                elif isinstance(state, ParallelState):
                    graphs.extend(state.branches)
        return False

    @classmethod
    def from_dict(
        cls,
        definition: Any,
        *,
        resolver: TaskResolver | None = None,
        name: str = "StateMachine",
    ) -> StateMachine:
        """Load a parsed definition.

        Args:
            definition: the parsed definition.
            resolver: what Task states run; without one, a definition with a Task state
                does not load.
            name: a name for the machine.

        Raises:
            DefinitionError: the definition is not valid; every problem is listed, and
                carried as data in ``problems``.
        """
        compiled = compile_definition(definition, resolver or NoTasks())
        return cls(definition, compiled.graph, compiled.timeout_seconds, compiled.language, name)

    @classmethod
    def from_string(
        cls, text: str, *, resolver: TaskResolver | None = None, name: str = "StateMachine"
    ) -> StateMachine:
        """Load a JSON or YAML definition from text."""
        return cls.from_dict(load_document(text), resolver=resolver, name=name)

    @classmethod
    def from_file(cls, path: str | Path, *, resolver: TaskResolver | None = None) -> StateMachine:
        """Load a JSON or YAML definition file.

        Raises:
            DefinitionError: the file cannot be read or parsed, or is not valid ASL.
        """
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as err:
            raise DefinitionError(f"cannot read definition {path}: {err.strerror or err}") from err
        return cls.from_string(text, resolver=resolver, name=path.stem)


def load_document(text: str) -> Any:
    """Parse JSON, or YAML with CloudFormation tags; unwrap ``{"definition": ...}``.

    Raises:
        DefinitionError: the text is neither valid JSON nor valid YAML.
    """
    try:
        document = json.loads(text)
    except ValueError:
        try:
            document = load_yaml_data(text)
        except YamlSyntaxError as err:
            where = f" (line {err.line})" if err.line else ""
            raise DefinitionError(
                f"the definition is neither valid JSON nor YAML{where}: {err.problem}"
            ) from err
    if (
        isinstance(document, dict)
        and "States" not in document
        and isinstance(document.get("definition"), dict)
    ):
        document = document["definition"]
    return document
