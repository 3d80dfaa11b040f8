"""The built wheel installs as ``cirrus-stac`` into a fresh virtualenv and runs ``cirrus demo``.

The distribution is named ``cirrus-stac`` (``cirrus`` and ``cirrus-geo`` on PyPI are other
projects); the import name and the command stay ``cirrus``. The wheel goes in with
``--no-deps --no-index``; its dependencies are the ones this test runs with, put on the
fresh environment's path by a ``.pth`` file, so the test needs no network. The ``.pth``
only appends folders: the fresh site-packages comes first, so ``cirrus`` is the wheel's.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
DISTRIBUTION = "cirrus-stac"
_NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".cirrus",
    "cirrus-demo", ".bench",
)  # fmt: skip


def _run(*args: str | Path, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    result = subprocess.run(
        [str(arg) for arg in args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, f"{args}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built from a copy of the source (so no build/ is left in the tree)."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=_NOT_SOURCE)
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", work / "dist", source)
    (built,) = (work / "dist").glob("*.whl")
    return built


def test_the_wheel_is_cirrus_stac_and_ships_what_it_needs(wheel: Path) -> None:
    assert wheel.name.startswith("cirrus_stac-")
    names = zipfile.ZipFile(wheel).namelist()
    (metadata,) = [name for name in names if name.endswith(".dist-info/METADATA")]
    text = zipfile.ZipFile(wheel).read(metadata).decode()
    assert f"Name: {DISTRIBUTION}\n" in text
    # extras name the distribution itself, not the unrelated `cirrus` on PyPI
    assert "Requires-Dist: cirrus[" not in text
    assert "cirrus/project/templates/task/Dockerfile.tmpl" in names
    assert "cirrus/demo/project/cirrus.yml" in names
    assert "cirrus/project/docs/projects.md" in names  # the guide created files point to


def test_a_fresh_virtualenv_with_the_wheel_runs_the_demo(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    purelib = Path(
        _run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))").strip()
    )
    _run(
        sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps",
        "--no-index", wheel,
    )  # fmt: skip
    here = [path for path in site.getsitepackages() if Path(path).is_dir()]
    (purelib / "_dependencies.pth").write_text("\n".join(here) + "\n")
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in ("PYTHONPATH", "VIRTUAL_ENV") and not name.startswith("CIRRUS_")
    }
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"

    where = _run(python, "-c", "import cirrus; print(cirrus.__file__)", env=env, cwd=tmp_path)
    assert Path(where.strip()).is_relative_to(purelib)  # the wheel's, not the source tree's
    version = _run(venv / "bin" / "cirrus", "--version", env=env, cwd=tmp_path)
    assert version.startswith("cirrus, version ")
    summary = _run(venv / "bin" / "cirrus", "demo", "demo", env=env, cwd=tmp_path)
    report = json.loads(summary)
    assert report["validation"]["problems"] == []
    assert (tmp_path / "demo" / "catalog" / "catalog.json").is_file()
