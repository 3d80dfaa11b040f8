"""Read YAML (and JSON) files into problems a user can act on, keeping the line of every key.

The parsing itself (CloudFormation tags in their long forms, line numbers) is
:mod:`cirrus._yaml`, shared with the workflow engine; this module turns what goes wrong into
:class:`~cirrus.project.problems.Problem` entries::

    >>> loaded, problems = load_yaml(Path("tasks/t/definition.yml"))
    >>> loaded.line(("lambda", "timeout"))
    6
"""

from __future__ import annotations

import json
from pathlib import Path

from cirrus._yaml import KeyPath, LineMap, LoadedYaml, YamlSyntaxError, dotted, load_yaml_text
from cirrus.project.problems import Problem

__all__ = ["KeyPath", "LineMap", "LoadedYaml", "dotted", "load_yaml", "load_yaml_text"]


def load_yaml(file: Path, what: str = "") -> tuple[LoadedYaml | None, list[Problem]]:
    """Read ``file`` as YAML (JSON files too: JSON is YAML), keeping key lines.

    Args:
        file: the file to read.
        what: the field that names this file in messages (usually empty).

    Returns:
        The document (``None`` when it cannot be read or parsed) and the problems found:
        unreadable file, syntax errors with their line, duplicate keys.
    """
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as err:
        return None, [Problem(file, None, what, f"cannot be read: {err.strerror or err}")]
    except UnicodeDecodeError:
        return None, [Problem(file, None, what, "is not UTF-8 text: save it as UTF-8")]
    try:
        loaded = load_yaml_text(text, file)
    except YamlSyntaxError as err:
        if file.suffix == ".json":
            return _load_json_fallback(file, text, what, err)
        return None, [Problem(file, err.line, what, f"is not valid YAML: {err.problem}")]
    except RecursionError:
        return None, [_too_deep(file, what)]
    problems = [
        Problem(file, line, dotted(path), "appears twice: keep one (the last one wins)")
        for path, line in loaded.duplicates
    ]
    return loaded, problems


def _too_deep(file: Path, what: str) -> Problem:
    return Problem(
        file,
        None,
        what,
        "nests mappings and lists too deep to be read (hundreds of levels): flatten it, "
        "e.g. move deep Parallel branches into workflows of their own",
    )


def _load_json_fallback(
    file: Path, text: str, what: str, yaml_error: YamlSyntaxError
) -> tuple[LoadedYaml | None, list[Problem]]:
    # Some valid JSON (e.g. "\/" escapes, tabs) is not YAML 1.1: load it without lines.
    try:
        data = json.loads(text)
    except RecursionError:
        return None, [_too_deep(file, what)]
    except json.JSONDecodeError as err:
        return None, [Problem(file, err.lineno, what, f"is not valid JSON: {err.msg}")]
    del yaml_error
    return LoadedYaml(file=file, data=data, lines=LineMap({(): 1})), []
