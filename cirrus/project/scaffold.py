"""Create projects and components from the templates in ``cirrus/project/templates``.

Templates are plain files with ``{{placeholder}}`` markers (so shell-style ``${VAR}`` in
Dockerfiles and path templates passes through untouched). Nothing that exists is ever
overwritten.

    >>> root = init_project(Path("demo"))
    >>> task = create_component(Project(root), "task", "my-task", "does a thing",
    ...                         types=["lambda", "batch"])
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from cirrus.errors import ConfigError
from cirrus.project.components import DEFINITION_FILE, FOLDERS, README_FILE, Component
from cirrus.project.config import CONFIG_FILE
from cirrus.project.names import class_name_for, project_name_for
from cirrus.project.project import Project, normalize_kind
from cirrus.task.kinds import TaskKind

__all__ = ["GUIDE", "TASK_TYPES", "TEMPLATES_DIR", "create_component", "init_project"]

TEMPLATES_DIR = Path(__file__).parent / "templates"
GUIDE = Path(__file__).parent / "docs" / "projects.md"
"""The project guide (``docs/projects.md``; all of ``docs/`` ships in the package beside it,
``cirrus show guide [NAME]`` shows them)."""
TASK_TYPES = tuple(TaskKind)
GITIGNORE_LINE = ".cirrus/"


def _render(template: str, values: dict[str, str]) -> str:
    text = (TEMPLATES_DIR / f"{template}.tmpl").read_text(encoding="utf-8")
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    return text


def init_project(directory: Path | str, name: str | None = None) -> Path:
    """Make ``directory`` a cirrus project that runs as it is.

    Writes ``cirrus.yml``, the component folders, and ``.cirrus/`` in ``.gitignore``
    (added to an existing one, never replacing it).

    Args:
        directory: the project folder; created when missing.
        name: project name; defaults to one derived from the folder name.

    Returns:
        The project folder, absolute.

    Raises:
        ConfigError: the folder already holds a ``cirrus.yml``, or ``name`` is invalid.
    """
    from cirrus.project.names import MAX_PROJECT_NAME, check_name

    root = Path(directory).expanduser().resolve()
    config = root / CONFIG_FILE
    if config.exists():
        raise ConfigError(f"{config} exists already: {root} is a cirrus project")
    if root.exists() and not root.is_dir():
        raise ConfigError(f"{root} is a file: give a folder for the project")
    name = name or project_name_for(root.name)
    reason = check_name(name, "project", MAX_PROJECT_NAME)
    if reason:
        raise ConfigError(f"project name {reason}")
    root.mkdir(parents=True, exist_ok=True)
    config.write_text(_render("project/cirrus.yml", {"name": name}), encoding="utf-8")
    for folder in FOLDERS.values():
        (root / folder).mkdir(exist_ok=True)
        keep = root / folder / ".gitkeep"
        if not any((root / folder).iterdir()):
            keep.touch()
    _ensure_gitignore(root / ".gitignore")
    return root


def _ensure_gitignore(file: Path) -> None:
    if not file.exists():
        file.write_text(_render("project/gitignore", {}), encoding="utf-8")
        return
    text = file.read_text(encoding="utf-8")
    lines = {line.strip() for line in text.splitlines()}
    if GITIGNORE_LINE in lines or ".cirrus" in lines:
        return
    separator = "" if text.endswith("\n") or not text else "\n"
    file.write_text(text + separator + _render("project/gitignore", {}), encoding="utf-8")


def _yaml_text(value: str) -> str:
    # A JSON string is a valid YAML double-quoted scalar.
    return json.dumps(value, ensure_ascii=False)


def create_component(
    project: Project,
    kind: str,
    name: str,
    description: str,
    types: Iterable[str] | None = None,
) -> Component:
    """Create a component folder from the templates.

    Args:
        project: the project to add it to.
        kind: ``task``, ``workflow``, ``feeder`` or ``function``.
        name: the component name (letters, digits, hyphens; starts with a letter).
        description: one line saying what it does.
        types: for tasks, any of ``lambda`` and ``batch`` (default: lambda only).

    Returns:
        The new component.

    Raises:
        ConfigError: the name or description is invalid, the types are unknown, or the
            component's folder exists already (it is never overwritten).
    """
    from cirrus.project.names import check_name

    kind = normalize_kind(kind)
    reason = check_name(name, kind)
    if reason:
        raise ConfigError(f"{kind} name {reason}")
    description = " ".join(description.split())
    if not description:
        raise ConfigError(f"give the {kind} a description: one line saying what it does")
    chosen = _task_types(types) if kind == "task" else ()
    if kind != "task" and types:
        raise ConfigError(f"--type applies to tasks only, not to a {kind}")
    folder = project.folder(kind) / name
    if folder.exists():
        raise ConfigError(f"{folder} exists already: pick another name or edit it in place")
    values = {
        "name": name,
        "description": description,
        "description_yaml": _yaml_text(description),
        "description_python": json.dumps(description),
        "description_doc": description.replace("\\", "\\\\").replace('"', '\\"'),
        "class_name": class_name_for(name),
        "types": " and ".join(chosen),
    }
    _write(folder, _files_for(kind, chosen, values))
    if kind == "task":
        _create_test_workflow(project, name, chosen[0], values)
    return project.component(kind, name)


def _create_test_workflow(
    project: Project, task: str, task_type: str, values: dict[str, str]
) -> None:
    """Write ``workflows/test-<task>`` so that the task's test payload runs as created.

    Nothing is written when that workflow exists already or its name would be too long.
    """
    from cirrus.project.names import check_name

    name = f"test-{task}"  # as test-payload.json names it
    folder = project.folder("workflow") / name
    if check_name(name, "workflow") or folder.exists():
        return
    values = {**values, "type": task_type}
    _write(
        folder,
        {
            README_FILE: _render("task/test-workflow-README.md", values),
            DEFINITION_FILE: _render("task/test-workflow.yml", values),
        },
    )


def _write(folder: Path, files: dict[str, str]) -> None:
    folder.mkdir(parents=True)
    for relative, text in files.items():
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def _task_types(types: Iterable[str] | None) -> tuple[str, ...]:
    chosen = set(types or ["lambda"])
    unknown = chosen - set(TASK_TYPES)
    if unknown:
        raise ConfigError(
            f"unknown task type {', '.join(sorted(unknown))}: use lambda, batch, or both"
        )
    if not chosen:
        raise ConfigError("a task needs at least one type: lambda, batch, or both")
    return tuple(t for t in TASK_TYPES if t in chosen)


def _files_for(kind: str, types: tuple[str, ...], values: dict[str, str]) -> dict[str, str]:
    files: dict[str, str] = {README_FILE: _render(f"{kind}/README.md", values)}
    if kind == "task":
        sections = "\n".join(_render(f"task/definition-{t}.yml", values) for t in types)
        files[DEFINITION_FILE] = _render("task/definition.yml", {**values, "sections": sections})
        files["src/task/task.py"] = _render("task/task.py", values)
        files["test-payload.json"] = _render("task/test-payload.json", values)
        if "batch" in types:
            files["requirements.txt"] = _render("task/requirements.txt", values)
            for docker in ("Dockerfile", "Dockerfile.lambda", "Dockerfile.batch"):
                files[docker] = _render(f"task/{docker}", values)
    else:
        files[DEFINITION_FILE] = _render(f"{kind}/definition.yml", values)
        if kind in ("feeder", "function"):
            files[f"src/{kind}/{kind}.py"] = _render(f"{kind}/{kind}.py", values)
    return files
