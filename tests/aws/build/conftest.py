"""Projects to build, and cfn-lint as the build's tests run it.

``mixed`` (tests/fixtures/projects/mixed) has every kind of task the build knows: a Lambda
task from the zip, a Fargate batch task, an EC2 GPU batch task, an image Lambda task, a
batch task with its own CloudFormation, and a ``cloudformation/`` fragment.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from cirrus.project import Project

FIXTURES = Path(__file__).parents[2] / "fixtures" / "projects"
DEMO = Path(__file__).parents[3] / "cirrus" / "demo" / "project"


def copy_project(source: Path, destination: Path) -> Project:
    """A copy of the project in ``source`` (without local state) at ``destination``."""
    shutil.copytree(source, destination, ignore=shutil.ignore_patterns(".cirrus", "__pycache__"))
    return Project(destination)


@pytest.fixture
def mixed(tmp_path: Path) -> Project:
    """A copy of the fixture project with every kind of task."""
    return copy_project(FIXTURES / "mixed", tmp_path / "mixed")


@pytest.fixture
def demo(tmp_path: Path) -> Project:
    """A copy of the demo project."""
    return copy_project(DEMO, tmp_path / "demo")


def lint(template: dict[str, Any]) -> list[tuple[str, str, str]]:
    """cfn-lint's findings on ``template``: (rule id, severity, message)."""
    from cfnlint.api import ManualArgs
    from cfnlint.api import lint as cfn_lint

    text = json.dumps(template, indent=2)
    matches = cfn_lint(text, config=ManualArgs(regions=["us-east-1"]))
    return [(match.rule.id, match.rule.severity, match.message) for match in matches]
