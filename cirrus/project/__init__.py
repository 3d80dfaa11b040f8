"""The project model: a folder of tasks, workflows, feeders and functions.

    >>> from cirrus.project import find_project, validate_project
    >>> project = find_project()            # --project, $CIRRUS_PROJECT, or cirrus.yml upwards
    >>> sorted(project.tasks())
    ['copy-assets', 'make-cog', 'publish']
    >>> project.config.data_root
    '/home/me/demo/.cirrus/data'
    >>> [str(p) for p in validate_project(project)]
    []

See docs/projects.md for the layout, ``cirrus.yml`` and the ``definition.yml`` schema.
"""

from __future__ import annotations

from cirrus.project.components import (
    BuiltinTask,
    Component,
    FeederComponent,
    FunctionComponent,
    TaskComponent,
    WorkflowComponent,
)
from cirrus.project.config import ProjectConfig
from cirrus.project.problems import Problem
from cirrus.project.project import Project, find_project
from cirrus.project.scaffold import GUIDE, create_component, init_project
from cirrus.project.settings import BatchSettings, LambdaSettings
from cirrus.project.validate import validate_project

__all__ = [
    "GUIDE",
    "BatchSettings",
    "BuiltinTask",
    "Component",
    "FeederComponent",
    "FunctionComponent",
    "LambdaSettings",
    "Problem",
    "Project",
    "ProjectConfig",
    "TaskComponent",
    "WorkflowComponent",
    "create_component",
    "find_project",
    "init_project",
    "validate_project",
]
