"""Your own CloudFormation, merged into the stack.

Two places hold it: a task's ``batch.resources`` (its own job definition, queue and compute
environment), and the project's ``cloudformation/`` folder (any ``*.yml``, ``*.yaml`` or
``*.json`` file with ``Resources``, and optionally ``Parameters``, ``Conditions`` and
``Outputs``). Fragments may name the stack's resources (``!Ref PayloadBucket``,
``!GetAtt ProcessQueue.Arn``); a logical id that is already taken is an error naming both
places.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cirrus.aws.build.template import Template
from cirrus.errors import ConfigError
from cirrus.project import Problem
from cirrus.project.yamlfile import KeyPath, LoadedYaml, dotted, load_yaml

__all__ = ["FRAGMENT_FOLDER", "merge_fragment", "project_fragments"]

FRAGMENT_FOLDER = "cloudformation"
SECTIONS = ("Parameters", "Conditions", "Resources", "Outputs")
_IGNORED = ("AWSTemplateFormatVersion", "Description", "Metadata")


def merge_fragment(
    template: Template,
    fragment: Any,
    loaded: LoadedYaml,
    base: KeyPath = (),
    root: Path | None = None,
) -> list[Problem]:
    """Merge ``fragment`` (found at ``base`` in ``loaded``) into ``template``.

    Args:
        template: the stack.
        fragment: a mapping with ``Resources`` (and the other template sections).
        loaded: the file it comes from, for lines.
        base: the key path of the fragment in that file.
        root: the project folder, to show the file relative to it.

    Returns:
        The problems: a section that a fragment cannot hold, a taken logical id.
    """
    problems: list[Problem] = []

    def problem(path: KeyPath, message: str) -> None:
        full = (*base, *path)
        problems.append(Problem(loaded.file, loaded.line(full), dotted(full), message))

    if not isinstance(fragment, dict):
        problem((), "must be a mapping with `Resources`")
        return problems
    for section, content in fragment.items():
        if section in _IGNORED:
            continue
        if section not in SECTIONS:
            problem(
                (section,),
                f"cannot be merged into the stack; a fragment holds {', '.join(SECTIONS)}",
            )
            continue
        if not isinstance(content, dict):
            problem((section,), "must be a mapping of logical ids")
            continue
        for name, value in content.items():
            line = loaded.line((*base, section, name))
            shown = _shown(loaded.file, root)
            source = f"{shown}:{line}" if line else shown
            try:
                template.add_section(section, str(name), value, source)
            except ConfigError as err:
                message = str(err).removeprefix(f"{source}: ")
                problem((section, name), message)
    return problems


def project_fragments(template: Template, root: Path) -> list[Problem]:
    """Merge every file of ``root/cloudformation/`` (sorted by name) into ``template``."""
    folder = root / FRAGMENT_FOLDER
    if not folder.is_dir():
        return []
    problems: list[Problem] = []
    for file in sorted(folder.iterdir()):
        if file.suffix not in (".yml", ".yaml", ".json") or not file.is_file():
            continue
        loaded, read_problems = load_yaml(file)
        problems += read_problems
        if loaded is not None:
            problems += merge_fragment(template, loaded.data, loaded, (), root)
    return problems


def _shown(file: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return file.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            pass
    return str(file)
