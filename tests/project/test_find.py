"""Finding the project: --project, then $CIRRUS_PROJECT, then cirrus.yml upwards."""

from __future__ import annotations

from pathlib import Path

import pytest

from cirrus.errors import ConfigError
from cirrus.project import find_project, init_project


def test_search_upwards_from_start(tmp_path: Path) -> None:
    root = init_project(tmp_path / "p")
    deep = root / "tasks" / "x" / "y"
    deep.mkdir(parents=True)
    found = find_project(start=deep)
    assert found is not None
    assert found.root == root


def test_nothing_found(tmp_path: Path) -> None:
    assert find_project(start=tmp_path) is None


def test_explicit_beats_env_beats_search(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    near, env, explicit = (init_project(tmp_path / name) for name in ("near", "env", "explicit"))
    monkeypatch.setenv("CIRRUS_PROJECT", str(env))
    found = find_project(start=near, explicit=explicit)
    assert found is not None and found.root == explicit
    found = find_project(start=near)
    assert found is not None and found.root == env
    monkeypatch.delenv("CIRRUS_PROJECT")
    found = find_project(start=near)
    assert found is not None and found.root == near


def test_explicit_folder_without_cirrus_yml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"has no cirrus\.yml"):
        find_project(explicit=tmp_path)
