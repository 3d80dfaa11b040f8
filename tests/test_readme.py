"""The README's examples work as written."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).parent.parent / "README.md"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(), flags=re.DOTALL)


def test_readme_starts_with_the_two_commands() -> None:
    first = blocks("sh")[0].strip().splitlines()
    assert len(first) == 2
    assert first[0].endswith("cirrus demo")
    assert first[1].endswith("python -m pytest")


def test_write_a_task_example_runs(tmp_path: Path) -> None:
    (task,) = [block for block in blocks("python") if "class AddTitle" in block]
    (payload,) = [block for block in blocks("json") if '"process"' in block]
    (tmp_path / "add_title.py").write_text(task)
    (tmp_path / "payload.json").write_text(payload)
    command = [
        sys.executable,
        "-m",
        "cirrus",
        "run",
        "task",
        "add_title.py:AddTitle",
        "payload.json",
    ]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    item = json.loads(result.stdout)["features"][0]
    assert item["properties"]["title"] == "Hello"
    as_process = subprocess.run(
        [sys.executable, "add_title.py", "run", "payload.json", "--output", "out.json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert as_process.returncode == 0, as_process.stderr
    assert json.loads((tmp_path / "out.json").read_text())["features"][0] == item
    get_id = subprocess.run(
        [sys.executable, "-m", "cirrus", "payload", "get-id", "payload.json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert get_id.stdout.strip() == "demo/workflow-titles/scene-1"
