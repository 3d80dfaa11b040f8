"""The Lambda artifacts: one code zip, and a layer of third-party dependencies.

The code zip holds cirrus itself (with its distribution metadata, so the built-in tasks'
entry points are found) and the project's tasks under ``project/``, where the task handler
finds them (``CIRRUS_PROJECT=/var/task/project``). The layer holds what ``pip`` installs
for the Lambda platform (``python/`` in the zip, as Lambda layers want)::

    code = code_zip(project, tasks, out_dir)                          # code-<hash>.zip
    layer = dependency_layer(requirements, out_dir, cache=cache_dir)  # dependencies-<hash>.zip

Both are deterministic: the same files give the same bytes (entries sorted, timestamps
fixed at 1980-01-01, permissions 0644, one compression level), so an unchanged project
gives an unchanged file name and CloudFormation leaves its functions alone.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import io
import json
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cirrus
from cirrus.errors import ConfigError

__all__ = [
    "LAMBDA_PLATFORMS",
    "LAMBDA_PYTHON",
    "PROJECT_FOLDER",
    "Artifact",
    "cirrus_requirements",
    "code_zip",
    "dependency_layer",
    "deterministic_zip",
    "layer_key",
    "task_requirements",
]

DISTRIBUTION = "cirrus-stac"
"""cirrus's distribution name (the import name stays ``cirrus``; ``cirrus`` and ``cirrus-geo``
on PyPI are other projects)."""
_OWN_NAMES = frozenset({DISTRIBUTION, "cirrus"})
"""Requirement names that mean cirrus itself (``cirrus`` as written before the rename)."""
LAMBDA_PYTHON = "3.12"
"""The Python of the Lambda runtime the artifacts are built for (``python3.12``)."""
LAMBDA_PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_28_x86_64")
"""Wheel platforms pip may pick for the Lambda (x86_64); pip does not expand manylinux tags."""
PROJECT_FOLDER = "project"
"""Where the project's files are inside the code zip (``/var/task/project`` on Lambda)."""
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024
"""A function's code and layers may hold 250 MB unzipped."""
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_SKIPPED_DIRS = frozenset(
    {"__pycache__", ".cirrus", ".git", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".venv"}
)
_SKIPPED_SUFFIXES = (".pyc", ".pyo")
_REQUIREMENT_NAME = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?(.*)")


@dataclass(frozen=True)
class Artifact:
    """A built zip.

    Attributes:
        name: what it holds: ``code`` or ``dependencies``.
        path: the file (its name carries the content hash).
        sha256: hex digest of its bytes.
        size: bytes zipped.
        unzipped: bytes unzipped (what Lambda's 250 MB limit counts).
    """

    name: str
    path: Path
    sha256: str
    size: int
    unzipped: int

    @property
    def key(self) -> str:
        """The object key it is uploaded under: its file name."""
        return self.path.name

    def to_dict(self) -> dict[str, Any]:
        """The artifact as ``manifest.json`` lists it."""
        return {
            "name": self.name,
            "file": self.path.name,
            "key": self.key,
            "sha256": self.sha256,
            "size": self.size,
            "unzipped": self.unzipped,
        }


def deterministic_zip(entries: Mapping[str, bytes]) -> bytes:
    """Zip ``entries`` (archive name → content) the same way every time."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, so the permissions below are read
            info.external_attr = 0o100644 << 16
            archive.writestr(info, entries[name], compresslevel=9)
    return buffer.getvalue()


def _save(name: str, entries: Mapping[str, bytes], out_dir: Path) -> Artifact:
    data = deterministic_zip(entries)
    digest = hashlib.sha256(data).hexdigest()
    path = out_dir / f"{name}-{digest[:16]}.zip"
    out_dir.mkdir(parents=True, exist_ok=True)
    if not (path.is_file() and path.read_bytes() == data):
        path.write_bytes(data)
    unzipped = sum(len(content) for content in entries.values())
    return Artifact(name, path, digest, len(data), unzipped)


def _files(folder: Path) -> Iterator[Path]:
    """Files under ``folder``, sorted, without caches, local state or compiled code."""
    for path in sorted(folder.iterdir()):
        if path.is_dir():
            if path.name not in _SKIPPED_DIRS:
                yield from _files(path)
        elif path.is_file() and not path.name.endswith(_SKIPPED_SUFFIXES):
            yield path


def _tree(folder: Path, under: str) -> dict[str, bytes]:
    return {
        f"{under}/{path.relative_to(folder).as_posix()}": path.read_bytes()
        for path in _files(folder)
    }


def code_zip(project_root: Path, task_folders: Iterable[Path], out_dir: Path) -> Artifact:
    """The code zip: cirrus, its metadata, ``cirrus.yml`` and the given task folders.

    Args:
        project_root: the project folder.
        task_folders: the task folders to include (``tasks/<name>``).
        out_dir: where ``code-<hash>.zip`` is written.
    """
    package = Path(cirrus.__file__).parent
    entries = _tree(package, "cirrus")
    entries.update(_distribution_files())
    config = project_root / "cirrus.yml"
    if config.is_file():
        entries[f"{PROJECT_FOLDER}/cirrus.yml"] = config.read_bytes()
    for folder in task_folders:
        relative = folder.resolve().relative_to(project_root.resolve()).as_posix()
        entries.update(_tree(folder, f"{PROJECT_FOLDER}/{relative}"))
    return _save("code", entries, out_dir)


def _pyproject() -> dict[str, Any] | None:
    """cirrus's ``pyproject.toml`` when cirrus runs from its source tree."""
    file = Path(cirrus.__file__).parent.parent / "pyproject.toml"
    if not file.is_file():
        return None
    data = tomllib.loads(file.read_text(encoding="utf-8"))
    project = data.get("project", {})
    return project if project.get("name") == DISTRIBUTION else None


def _distribution_files() -> dict[str, bytes]:
    """``cirrus_stac-<version>.dist-info``: what importlib.metadata needs for entry points."""
    project = _pyproject()
    if project is not None:
        version = str(project.get("version", cirrus.__version__))
        groups: dict[str, dict[str, str]] = dict(project.get("entry-points", {}))
        if project.get("scripts"):
            groups["console_scripts"] = dict(project["scripts"])
        lines: list[str] = []
        for group in sorted(groups):
            lines.append(f"[{group}]")
            lines += [f"{name} = {target}" for name, target in sorted(groups[group].items())]
            lines.append("")
        entry_points = "\n".join(lines)
    else:
        distribution = importlib.metadata.distribution(DISTRIBUTION)
        version = distribution.version
        entry_points = distribution.read_text("entry_points.txt") or ""
    folder = f"{DISTRIBUTION.replace('-', '_')}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {DISTRIBUTION}\nVersion: {version}\n"
    return {
        f"{folder}/METADATA": metadata.encode(),
        f"{folder}/entry_points.txt": entry_points.encode(),
        f"{folder}/top_level.txt": b"cirrus\n",
    }


def _cirrus_requires() -> tuple[list[str], dict[str, list[str]]]:
    """cirrus's dependencies and extras, from its source tree or its installed metadata."""
    project = _pyproject()
    if project is not None:
        return list(project.get("dependencies", [])), {
            name: list(items) for name, items in project.get("optional-dependencies", {}).items()
        }
    base: list[str] = []
    extras: dict[str, list[str]] = {}
    for requirement in importlib.metadata.requires(DISTRIBUTION) or []:
        text, _, marker = requirement.partition(";")
        found = re.search(r"extra\s*==\s*['\"]([^'\"]+)['\"]", marker)
        if found:
            extras.setdefault(found[1], []).append(text.strip())
        else:
            base.append(text.strip())
    return base, extras


def cirrus_requirements(extras: Iterable[str] = ("aws",)) -> list[str]:
    """cirrus's own requirements for the Lambda layer, with ``extras`` expanded.

    An extra naming cirrus itself (``demo = ["cirrus-stac[geo]"]``) is expanded too, never
    installed from an index (``cirrus`` there is another package).
    """
    base, table = _cirrus_requires()
    found = list(base)
    pending, seen = list(extras), set()
    while pending:
        extra = pending.pop(0)
        if extra in seen:
            continue
        seen.add(extra)
        for requirement in table.get(extra, []):
            name, wanted = _split(requirement)
            if name in _OWN_NAMES:
                pending += wanted
            else:
                found.append(requirement)
    return list(dict.fromkeys(found))


def _split(requirement: str) -> tuple[str, list[str]]:
    match = _REQUIREMENT_NAME.match(requirement)
    if not match:
        return "", []
    extras = [item.strip() for item in (match[2] or "").strip("[]").split(",") if item.strip()]
    return match[1].lower().replace("_", "-"), extras


def task_requirements(requirements_file: Path) -> list[str]:
    """A task's ``requirements.txt``; ``cirrus-stac[...]`` (or ``cirrus[...]``) is cirrus's own.

    Raises:
        ConfigError: a line holds pip options (``-r``, ``-e``, ``--index-url``), which would
            change the whole install.
    """
    found: list[str] = []
    for number, raw in enumerate(requirements_file.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("-"):
            raise ConfigError(
                f"{requirements_file}:{number}: `{line}`: only requirements (name and version) "
                "can go into the Lambda dependency layer; pip options cannot"
            )
        name, extras = _split(line)
        found += cirrus_requirements(extras) if name in _OWN_NAMES else [line]
    return found


def layer_key(
    requirements: Iterable[str],
    *,
    wheels: Path | None = None,
    python_version: str = LAMBDA_PYTHON,
    platforms: Iterable[str] = LAMBDA_PLATFORMS,
) -> str:
    """What a layer is cached by: its requirements, where wheels come from, the platform."""
    data = [sorted(dict.fromkeys(requirements)), list(platforms), python_version, str(wheels or "")]
    return hashlib.sha256(json.dumps(data).encode()).hexdigest()[:16]


def dependency_layer(
    requirements: Iterable[str],
    out_dir: Path,
    *,
    cache: Path | None = None,
    wheels: Path | None = None,
    python_version: str = LAMBDA_PYTHON,
    platforms: Iterable[str] = LAMBDA_PLATFORMS,
) -> Artifact:
    """The layer zip of ``requirements``, installed by pip for the Lambda platform.

    Args:
        requirements: requirement lines (name and version bounds).
        out_dir: where ``dependencies-<hash>.zip`` is written.
        cache: a folder keeping built layers by their inputs; the same inputs are not
            installed again.
        wheels: install only from this folder of wheels (``--no-index --find-links``),
            for builds without network access.
        python_version: the Lambda's Python.
        platforms: the wheel platforms pip may pick.

    Raises:
        ConfigError: pip failed (its last lines are in the message).
    """
    requirements = sorted(dict.fromkeys(requirements))
    platforms = list(platforms)
    key = layer_key(requirements, wheels=wheels, python_version=python_version, platforms=platforms)
    cached = cache / f"layer-{key}.zip" if cache is not None else None
    if cached is not None and cached.is_file():
        entries = _read_zip(cached)
        return _save("dependencies", entries, out_dir)
    with tempfile.TemporaryDirectory(prefix="cirrus-layer-") as scratch:
        target = Path(scratch) / "python"
        listing = Path(scratch) / "requirements.txt"
        listing.write_text("\n".join(requirements) + "\n", encoding="utf-8")
        command = [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-compile",
            "--target",
            str(target),
            *[arg for platform in platforms for arg in ("--platform", platform)],
            "--implementation",
            "cp",
            "--python-version",
            python_version,
            "--only-binary=:all:",
            "-r",
            str(listing),
        ]
        if wheels is not None:
            command += ["--no-index", "--find-links", str(wheels)]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-8:])
            raise ConfigError(
                "pip could not install the Lambda dependency layer "
                f"(Python {python_version}, {', '.join(platforms)}):\n{tail}\n"
                "Pass version bounds that have wheels for that platform, or build with --no-deps"
            )
        entries = {
            name: content
            for name, content in _tree(target, "python").items()
            if not name.startswith("python/bin/")
        }
    artifact = _save("dependencies", entries, out_dir)
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(artifact.path, cached)
    return artifact


def _read_zip(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}
