"""Components of a project: tasks, workflows, feeders and functions.

A project component is a folder ``<kind folder>/<name>/`` with a ``definition.yml`` and a
``README.md`` (plus code for tasks, feeders and functions). Built-in components ship with
cirrus: tasks come from the ``cirrus.tasks`` entry-point group, the others from
``cirrus/project/builtin/``. Reading a component never raises for a mistake in its files;
:meth:`Component.problems` lists them and the accessors that need valid data raise
:class:`~cirrus.errors.ConfigError`.
"""

from __future__ import annotations

import inspect
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from cirrus.errors import ConfigError
from cirrus.project.problems import Problem, Severity, raise_for_problems
from cirrus.project.schema import check_definition
from cirrus.project.settings import BatchSettings, LambdaSettings
from cirrus.project.yamlfile import LoadedYaml, load_yaml
from cirrus.task.kinds import TaskKind

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

__all__ = [
    "DEFINITION_FILE",
    "FOLDERS",
    "KINDS",
    "README_FILE",
    "TASK_ENTRY_POINT_GROUP",
    "BuiltinTask",
    "CodeComponent",
    "Component",
    "FeederComponent",
    "FunctionComponent",
    "TaskComponent",
    "WorkflowComponent",
    "builtin_components",
    "component_class",
]

KINDS = ("task", "workflow", "feeder", "function")
FOLDERS = {"task": "tasks", "workflow": "workflows", "feeder": "feeders", "function": "functions"}
DEFINITION_FILE = "definition.yml"
README_FILE = "README.md"
TASK_ENTRY_POINT_GROUP = "cirrus.tasks"
WORKFLOW_FILES = ("workflow.json", "workflow.yml", "workflow.yaml")
BUILTIN_DIR = Path(__file__).parent / "builtin"


class Component:
    """A project or built-in component.

    Attributes:
        name: the component's name (its folder name).
        path: the component's folder (built-ins: their file, or ``None``).
        builtin: whether it ships with cirrus.
        overrides_builtin: a project component that replaces a built-in of the same name.
    """

    kind: ClassVar[str] = ""

    def __init__(self, name: str, path: Path | None, *, builtin: bool = False) -> None:
        self.name = name
        self.path = path
        self.builtin = builtin
        self.overrides_builtin = False

    def __repr__(self) -> str:
        origin = "built-in" if self.builtin else str(self.path)
        return f"<{self.kind} {self.name!r} ({origin})>"

    @property
    def definition_file(self) -> Path | None:
        """The ``definition.yml`` of a project component (``None`` for most built-ins)."""
        return None if self.path is None else self.path / DEFINITION_FILE

    @cached_property
    def _loaded(self) -> tuple[LoadedYaml | None, list[Problem]]:
        file = self.definition_file
        if file is None:
            return None, []
        if not file.is_file():
            return None, [
                Problem(file, None, "", f"is missing: every {self.kind} needs a {DEFINITION_FILE}")
            ]
        return load_yaml(file)

    @property
    def document(self) -> dict[str, Any]:
        """The contents of ``definition.yml`` as a mapping.

        Raises:
            ConfigError: the file is missing, is not YAML, or is not a mapping.
        """
        loaded, problems = self._loaded
        raise_for_problems(problems, f"{self.kind} `{self.name}`")
        data = loaded.data if loaded is not None else None
        if not isinstance(data, dict):
            raise ConfigError(f"{self.definition_file} must be a mapping with `description`")
        return data

    @property
    def definition(self) -> dict[str, Any]:
        """The component's definition (for workflows: the state machine)."""
        return self.document

    @property
    def description(self) -> str:
        """One line saying what the component does ("" when the definition is unreadable)."""
        try:
            value = self.document.get("description", "")
        except ConfigError:
            return ""
        return value if isinstance(value, str) else ""

    @property
    def enabled(self) -> bool:
        """Whether the component is turned on (``enabled`` in its definition)."""
        try:
            return self.document.get("enabled", True) is not False
        except ConfigError:
            return True

    @property
    def types(self) -> frozenset[str]:
        """How the component runs: a subset of ``{"lambda", "batch"}``."""
        return frozenset()

    @property
    def readme_file(self) -> Path | None:
        """The component's ``README.md``."""
        return None if self.path is None else self.path / README_FILE

    def readme(self) -> str:
        """The README text (Markdown).

        Raises:
            ConfigError: the component has no README.
        """
        file = self.readme_file
        if file is None or not file.is_file():
            raise ConfigError(f"{self.kind} `{self.name}` has no {README_FILE} (expected {file})")
        return file.read_text(encoding="utf-8")

    def problems(self) -> list[Problem]:
        """Problems in the component's own files (not its references to other components)."""
        loaded, problems = self._loaded
        if loaded is not None:
            problems = problems + check_definition(loaded, self.kind)
        readme = self.readme_file
        if readme is not None and not self.builtin:
            if not readme.is_file():
                # upstream Cirrus workflows come without one: for them it is only a warning
                severity: Severity = "warning" if self.kind == "workflow" else "error"
                problems.append(
                    Problem(
                        readme, None, "", f"is missing: document the {self.kind} in it", severity
                    )
                )
            elif not readme.read_text(encoding="utf-8").strip():
                problems.append(Problem(readme, None, "", f"is empty: document the {self.kind}"))
        return problems

    def loaded_definition(self) -> LoadedYaml | None:
        """The parsed ``definition.yml`` with the line of each key, when readable."""
        return self._loaded[0]


class CodeComponent(Component):
    """A component with Lambda-style code under ``src/<kind>/<kind>.py``."""

    @property
    def code_dir(self) -> Path | None:
        """The folder holding the component's code."""
        return None if self.path is None else self.path / "src" / self.kind

    @property
    def code_file(self) -> Path | None:
        """The component's main module."""
        return None if self.code_dir is None else self.code_dir / f"{self.kind}.py"

    @property
    def lambda_settings(self) -> LambdaSettings | None:
        """Lambda settings with defaults applied, or ``None`` when it has no Lambda variant.

        Raises:
            ConfigError: the definition has problems.
        """
        self._require_valid()
        return LambdaSettings.from_definition(self.document, f"{self.kind}.handler")

    def _require_valid(self) -> None:
        raise_for_problems(self.problems(), f"{self.kind} `{self.name}`")


class TaskComponent(CodeComponent):
    """A task: a unit of processing that takes and returns a payload."""

    kind = "task"

    @property
    def types(self) -> frozenset[str]:
        try:
            document = self.document
        except ConfigError:
            return frozenset()
        return frozenset(
            kind
            for kind in TaskKind
            if isinstance(document.get(kind), dict)
            and document[kind].get("enabled", True) is not False
        )

    @property
    def batch_settings(self) -> BatchSettings | None:
        """Batch settings with defaults applied, or ``None`` when it has no Batch variant.

        Raises:
            ConfigError: the definition has problems.
        """
        self._require_valid()
        return BatchSettings.from_definition(self.document)

    @property
    def class_name(self) -> str | None:
        """The ``class`` field of the definition, naming the Task class to run."""
        try:
            value = self.document.get("class")
        except ConfigError:
            return None
        return value if isinstance(value, str) else None

    def load_class(self) -> type[Any]:
        """Import the task's code and return its Task subclass.

        Raises:
            ConfigError: the code is missing, fails to import, or does not define exactly
                one Task subclass (a ``class`` field in definition.yml picks one).
        """
        from cirrus.task.loader import load_task_class

        assert self.code_file is not None
        return load_task_class(self.code_file, self.class_name)


class BuiltinTask(TaskComponent):
    """A task that ships with cirrus, found through the ``cirrus.tasks`` entry points."""

    def __init__(self, entry_point: EntryPoint) -> None:
        super().__init__(entry_point.name, None, builtin=True)
        self.entry_point = entry_point

    @cached_property
    def _class(self) -> type[Any]:
        try:
            loaded = self.entry_point.load()
        except Exception as err:  # a broken plugin must not break listing other tasks
            raise ConfigError(
                f"built-in task `{self.name}` ({self.entry_point.value}) cannot be loaded: "
                f"{type(err).__name__}: {err}"
            ) from err
        if not isinstance(loaded, type):
            raise ConfigError(
                f"entry point `{self.name}` in group {TASK_ENTRY_POINT_GROUP} is not a class: "
                f"{self.entry_point.value}"
            )
        return loaded

    def load_class(self) -> type[Any]:
        return self._class

    @property
    def document(self) -> dict[str, Any]:
        return {"description": self.description, "lambda": {"handler": self.entry_point.value}}

    @property
    def description(self) -> str:
        try:
            value = getattr(self._class, "description", "")
        except ConfigError as err:
            return f"(unavailable: {err})"
        return value if isinstance(value, str) else ""

    @property
    def types(self) -> frozenset[str]:
        return frozenset({TaskKind.LAMBDA})

    @property
    def class_name(self) -> str | None:
        return self.entry_point.value.rpartition(":")[2] or None

    def readme(self) -> str:
        doc = inspect.getdoc(self._class) or self.description
        return f"# {self.name}\n\n{doc}\n"

    def problems(self) -> list[Problem]:
        return []

    @property
    def lambda_settings(self) -> LambdaSettings | None:
        return LambdaSettings(handler=self.entry_point.value)

    @property
    def batch_settings(self) -> BatchSettings | None:
        return None


class WorkflowComponent(Component):
    """A workflow: an Amazon States Language state machine whose Task states run tasks."""

    kind = "workflow"

    @property
    def definition_file(self) -> Path | None:
        if self.builtin:
            return self.path
        return super().definition_file

    @property
    def readme_file(self) -> Path | None:
        if self.builtin and self.path is not None:
            return self.path.with_suffix(".md")
        return super().readme_file

    @property
    def description(self) -> str:
        """``description``, else the state machine's ``Comment`` (upstream Cirrus has no
        ``description``)."""
        own = super().description
        if own:
            return own
        loaded, prefix = self.state_machine_source()
        machine = loaded.data if loaded is not None else None
        for key in prefix:
            machine = machine.get(key) if isinstance(machine, dict) else None
        comment = machine.get("Comment") if isinstance(machine, dict) else None
        return comment.strip() if isinstance(comment, str) else ""

    def readme(self) -> str:
        file = self.readme_file
        if self.builtin and (file is None or not file.is_file()):
            return f"# {self.name}\n\n{self.description}\n"
        return super().readme()

    @property
    def sibling_file(self) -> Path | None:
        """A ``workflow.json`` / ``workflow.yml`` beside definition.yml holding the ASL."""
        if self.path is None or self.builtin:
            return None
        for name in WORKFLOW_FILES:
            if (self.path / name).is_file():
                return self.path / name
        return None

    @cached_property
    def _machine(self) -> tuple[LoadedYaml | None, tuple[str, ...], list[Problem]]:
        """Where the state machine is: (document, key prefix inside it, problems)."""
        loaded, problems = self._loaded
        document = loaded.data if loaded is not None else None
        inline = isinstance(document, dict) and "definition" in document
        sibling = self.sibling_file
        if sibling is not None:
            if inline and loaded is not None:
                line = loaded.line(("definition",))
                message = f"is given twice, here and in {sibling.name}: keep one"
                return None, (), [*problems, Problem(loaded.file, line, "definition", message)]
            machine, more = load_yaml(sibling)
            return machine, (), problems + more
        if inline:
            return loaded, ("definition",), problems
        if loaded is not None and isinstance(document, dict):
            message = (
                "is missing: put the state machine under `definition:` or in a sibling "
                "workflow.json / workflow.yml"
            )
            problems = [*problems, Problem(loaded.file, 1, "definition", message)]
        return None, (), problems

    def state_machine_source(self) -> tuple[LoadedYaml | None, tuple[str, ...]]:
        """The document holding the state machine and the key path to it inside."""
        loaded, prefix, _ = self._machine
        return loaded, prefix

    @property
    def definition(self) -> dict[str, Any]:
        """The ASL state machine.

        Raises:
            ConfigError: it is missing, unreadable, or not a mapping.
        """
        loaded, prefix, problems = self._machine
        raise_for_problems(problems, f"workflow `{self.name}`")
        machine: Any = loaded.data if loaded is not None else None
        for key in prefix:
            machine = machine.get(key) if isinstance(machine, dict) else None
        if not isinstance(machine, dict):
            raise ConfigError(f"workflow `{self.name}`: the state machine must be a mapping")
        return machine

    @property
    def types(self) -> frozenset[str]:
        return frozenset()

    def problems(self) -> list[Problem]:
        problems = super().problems()
        _, _, machine_problems = self._machine
        seen = set(problems)
        return problems + [problem for problem in machine_problems if problem not in seen]


class FeederComponent(CodeComponent):
    """A feeder: turns outside events into payloads and submits them."""

    kind = "feeder"

    @property
    def types(self) -> frozenset[str]:
        try:
            section = self.document.get("lambda", {})
        except ConfigError:
            return frozenset()
        enabled = not isinstance(section, dict) or section.get("enabled", True) is not False
        return frozenset({"lambda"}) if enabled else frozenset()


class FunctionComponent(FeederComponent):
    """A function: a Lambda that supports the pipeline (an API, a callback, ...)."""

    kind = "function"


class _BuiltinFile(Component):
    """A built-in described by ``cirrus/project/builtin/<folder>/<name>.yml``."""

    @property
    def definition_file(self) -> Path | None:
        return self.path

    @property
    def readme_file(self) -> Path | None:
        return None if self.path is None else self.path.with_suffix(".md")

    def readme(self) -> str:
        file = self.readme_file
        if file is not None and file.is_file():
            return file.read_text(encoding="utf-8")
        return f"# {self.name}\n\n{self.description}\n"

    @property
    def types(self) -> frozenset[str]:
        return frozenset({"lambda"})


class _BuiltinFeeder(_BuiltinFile):
    kind = "feeder"


class _BuiltinFunction(_BuiltinFile):
    kind = "function"


_CLASSES: dict[str, type[Component]] = {
    "task": TaskComponent,
    "workflow": WorkflowComponent,
    "feeder": FeederComponent,
    "function": FunctionComponent,
}
_BUILTIN_FILE_CLASSES: dict[str, type[Component]] = {
    "workflow": WorkflowComponent,
    "feeder": _BuiltinFeeder,
    "function": _BuiltinFunction,
}


def component_class(kind: str) -> type[Component]:
    """The class of project components of ``kind``."""
    return _CLASSES[kind]


def builtin_components(kind: str) -> dict[str, Component]:
    """Built-in components of ``kind`` by name."""
    found: dict[str, Component] = {}
    if kind == "task":
        from cirrus.task.registry import task_entry_points

        for entry_point in task_entry_points():
            found.setdefault(entry_point.name, BuiltinTask(entry_point))
        return dict(sorted(found.items()))
    folder = BUILTIN_DIR / FOLDERS[kind]
    if folder.is_dir():
        for file in sorted(folder.glob("*.yml")):
            found[file.stem] = _BUILTIN_FILE_CLASSES[kind](file.stem, file, builtin=True)
    return found
