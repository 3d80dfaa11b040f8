"""The reliability suite drives the pipeline tests' project, plus tasks that misbehave.

``add_task`` puts ``tests/fixtures/tasks/misbehave.py`` into the project under a name, with the
``definition.yml`` settings given; ``add_workflow`` adds a workflow of one Task state.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from tests.runtime.conftest import FIXTURE_TASKS, Proj, open_pipeline, proj, project_template

# the pipeline tests' fixtures serve every test module here
__all__ = ["add_task", "add_workflow", "open_pipeline", "proj", "project_template"]


def add_task(proj: Proj, name: str, definition: str = "lambda: {}\n") -> None:
    """Add the ``misbehave`` task as ``name`` with ``definition`` (YAML, after description)."""
    folder = proj.root / "tasks" / name
    (folder / "src" / "task").mkdir(parents=True, exist_ok=True)
    (folder / "definition.yml").write_text(f'description: "{name}: misbehaves"\n{definition}')
    shutil.copyfile(FIXTURE_TASKS / "misbehave.py", folder / "src" / "task" / "task.py")
    (folder / "README.md").write_text(f"# {name}\n\nMisbehaves on request.\n")


def add_workflow(proj: Proj, name: str, resource: str, **state: Any) -> None:
    """Add workflow ``name``: one Task state running ``resource`` (more fields in ``state``)."""
    folder = proj.root / "workflows" / name
    folder.mkdir(parents=True, exist_ok=True)
    definition = {
        "StartAt": "work",
        "States": {"work": {"Type": "Task", "Resource": resource, "End": True, **state}},
    }
    document = {"description": f"{name}: one task", "definition": definition}
    (folder / "definition.yml").write_text(json.dumps(document, indent=2))
    (folder / "README.md").write_text(f"# {name}\n\nOne task.\n")


def read_lines(path: Path) -> list[str]:
    """The lines of a file (none if it does not exist)."""
    return path.read_text().splitlines() if path.exists() else []
