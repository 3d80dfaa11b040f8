"""A cirrus project: a folder with ``cirrus.yml`` and component folders.

    >>> project = find_project()          # --project, then $CIRRUS_PROJECT, then cirrus.yml upwards
    >>> project.tasks()["make-cog"].load_class()
    <class '...MakeCog'>

Project components override built-ins of the same name. Components are read from disk
on every call, so a component created a moment ago is listed.
"""

from __future__ import annotations

import os
from pathlib import Path

from cirrus.errors import ConfigError
from cirrus.project.components import (
    FOLDERS,
    KINDS,
    Component,
    TaskComponent,
    WorkflowComponent,
    builtin_components,
    component_class,
)
from cirrus.project.config import CONFIG_FILE, ProjectConfig

__all__ = ["PROJECT_ENV", "Project", "find_project", "normalize_kind"]

PROJECT_ENV = "CIRRUS_PROJECT"


def normalize_kind(kind: str) -> str:
    """``tasks`` or ``task`` -> ``task``.

    Raises:
        ConfigError: not a component kind.
    """
    singular = kind[:-1] if kind.endswith("s") and kind[:-1] in KINDS else kind
    if singular not in KINDS:
        raise ConfigError(f"{kind!r} is not a component kind: use one of {', '.join(KINDS)}")
    return singular


class Project:
    """A project folder and its settings.

    Args:
        root: the project folder.
        config: settings to use; by default read from ``root/cirrus.yml`` (or the
            embedded defaults when the folder has none) on first use.
    """

    def __init__(self, root: Path | str, config: ProjectConfig | None = None) -> None:
        self.root = Path(root).resolve()
        self._config = config

    def __repr__(self) -> str:
        return f"<Project {str(self.root)!r}>"

    @classmethod
    def embedded(cls, root: Path | str | None = None) -> Project:
        """A project without ``cirrus.yml``: built-in components, defaults under ``.cirrus``."""
        root = Path.cwd() if root is None else Path(root)
        return cls(root, ProjectConfig.embedded(root))

    @property
    def config_file(self) -> Path:
        """The project's ``cirrus.yml``."""
        return self.root / CONFIG_FILE

    @property
    def config(self) -> ProjectConfig:
        """The project's settings.

        Raises:
            ConfigError: ``cirrus.yml`` has problems (each with file, line and key).
        """
        if self._config is None:
            if self.config_file.is_file():
                self._config = ProjectConfig.load(self.root)
            else:
                self._config = ProjectConfig.embedded(self.root)
        return self._config

    def folder(self, kind: str) -> Path:
        """The folder holding project components of ``kind``."""
        return self.root / FOLDERS[normalize_kind(kind)]

    def project_components(self, kind: str) -> dict[str, Component]:
        """Components of ``kind`` defined in the project folder only, by name."""
        kind = normalize_kind(kind)
        folder = self.folder(kind)
        if not folder.is_dir():
            return {}
        cls = component_class(kind)
        return {
            entry.name: cls(entry.name, entry)
            for entry in sorted(folder.iterdir())
            if entry.is_dir() and not entry.name.startswith((".", "_"))
        }

    def components(self, kind: str) -> dict[str, Component]:
        """Built-in and project components of ``kind`` by name, project ones winning."""
        kind = normalize_kind(kind)
        found = builtin_components(kind)
        for name, component in self.project_components(kind).items():
            component.overrides_builtin = name in found
            found[name] = component
        return dict(sorted(found.items()))

    def tasks(self) -> dict[str, TaskComponent]:
        """Every task by name."""
        return {n: c for n, c in self.components("task").items() if isinstance(c, TaskComponent)}

    def task_class(self, spec: str) -> type:
        """The Task class ``spec`` names: a task of this project, a built-in, or a file.

        Raises:
            ConfigError: nothing matches (the known names are listed) or it fails to load.
        """
        from cirrus.task.registry import resolve_task

        tasks = self.tasks()

        def named(name: str) -> type | None:
            component = tasks.get(name)
            return component.load_class() if component is not None else None

        return resolve_task(spec, named, tasks)

    def workflows(self) -> dict[str, WorkflowComponent]:
        """Every workflow by name."""
        return {
            n: c for n, c in self.components("workflow").items() if isinstance(c, WorkflowComponent)
        }

    def feeders(self) -> dict[str, Component]:
        """Every feeder by name."""
        return self.components("feeder")

    def functions(self) -> dict[str, Component]:
        """Every function by name."""
        return self.components("function")

    def component(self, kind: str, name: str) -> Component:
        """One component by kind and name.

        Raises:
            ConfigError: there is none; the message lists the known names.
        """
        kind = normalize_kind(kind)
        found = self.components(kind)
        if name in found:
            return found[name]
        known = ", ".join(found) or "none"
        raise ConfigError(
            f"no {kind} named `{name}` in {self.root} or among built-ins; known: {known}"
        )

    def task(self, name: str) -> TaskComponent:
        """One task by name (see :meth:`component`)."""
        component = self.component("task", name)
        assert isinstance(component, TaskComponent)
        return component

    def workflow(self, name: str) -> WorkflowComponent:
        """One workflow by name (see :meth:`component`)."""
        component = self.component("workflow", name)
        assert isinstance(component, WorkflowComponent)
        return component


def _explicit_project(value: str | Path, source: str) -> Project:
    root = Path(value).expanduser()
    if root.name == CONFIG_FILE and root.is_file():
        root = root.parent
    if not (root / CONFIG_FILE).is_file():
        raise ConfigError(
            f"{source} points at {root}, which has no {CONFIG_FILE}: "
            f"run `cirrus init {root}` or point at a project folder"
        )
    return Project(root)


def find_project(start: Path | None = None, explicit: str | Path | None = None) -> Project | None:
    """Find the project to work on.

    ``explicit`` (from ``--project``) wins over ``$CIRRUS_PROJECT``, which wins over the
    nearest ``cirrus.yml`` in ``start`` (default: the current directory) or its parents.

    Returns:
        The project, or ``None`` when nothing names one and no ``cirrus.yml`` is found.

    Raises:
        ConfigError: ``explicit`` or ``$CIRRUS_PROJECT`` names a folder without cirrus.yml.
    """
    if explicit is not None and str(explicit) != "":
        return _explicit_project(explicit, "--project")
    from_env = os.environ.get(PROJECT_ENV)
    if from_env:
        return _explicit_project(from_env, f"${PROJECT_ENV}")
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_FILE).is_file():
            return Project(folder)
    return None
