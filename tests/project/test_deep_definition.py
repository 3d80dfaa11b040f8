"""A definition nested too deep to read is a problem in ``cirrus validate``, not a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any


def parallel(depth: int) -> dict[str, Any]:
    """A state machine of ``depth`` Parallel states, each the one branch of the one above."""
    if depth == 0:
        return {"StartAt": "p", "States": {"p": {"Type": "Pass", "End": True}}}
    branch = {"Type": "Parallel", "Branches": [parallel(depth - 1)], "End": True}
    return {"StartAt": "x", "States": {"x": branch}}


def test_a_200_deep_parallel_is_a_clear_problem(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    init = [sys.executable, "-m", "cirrus", "init", str(root)]
    subprocess.run(init, check=True, capture_output=True)
    folder = root / "workflows" / "deep"
    folder.mkdir(parents=True)
    document = {"description": "deep", "definition": parallel(200)}
    (folder / "definition.yml").write_text(json.dumps(document))
    (folder / "README.md").write_text("# deep\n")
    result = subprocess.run(
        [sys.executable, "-m", "cirrus", "validate"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    assert result.returncode != 0
    assert "workflows/deep/definition.yml" in result.stderr
    assert "too deep" in result.stderr
