"""The template of a small project, kept as a committed snapshot.

Any change to what the build makes shows here as a diff to review. When the change is
meant, rewrite the snapshot explicitly and commit it with the change::

    pytest tests/aws/build/test_snapshot.py --update-snapshots

Zip keys are fixed (``code.zip``, ``dependencies.zip``), so a change of cirrus's own code
does not change the snapshot; everything else the build writes does.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from cirrus.aws.build import build_stack
from tests.aws.build.conftest import FIXTURES, copy_project, lint

SNAPSHOTS = Path(__file__).parent / "snapshots"


def test_the_small_projects_template_matches_its_snapshot(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    project = copy_project(FIXTURES / "small", tmp_path / "small")
    stack = build_stack(project, code_key="code.zip", layer_key="dependencies.zip")
    text = stack.template.to_json()
    snapshot = SNAPSHOTS / "small.json"
    if request.config.getoption("--update-snapshots"):
        snapshot.write_text(text, encoding="utf-8")
    assert snapshot.is_file(), "no snapshot yet: run with --update-snapshots and commit it"
    expected = snapshot.read_text(encoding="utf-8")
    if text != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                text.splitlines(keepends=True),
                "snapshots/small.json",
                "built",
                n=2,
            )
        )
        pytest.fail(
            "the template differs from tests/aws/build/snapshots/small.json; if the change is "
            f"meant, run with --update-snapshots and commit the snapshot:\n{diff[:6000]}"
        )
    assert list(lint(stack.template.to_dict())) == []
