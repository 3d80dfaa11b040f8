from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def run_cirrus(
    *args: str, stdin: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the real ``cirrus`` command in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "cirrus", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=dict(os.environ),
        timeout=120,
        check=False,
    )


@pytest.fixture
def cirrus_cmd() -> object:
    return run_cirrus
