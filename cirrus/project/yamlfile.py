"""Read YAML (and JSON) files keeping the line of every key, for precise error messages.

:func:`load_yaml` returns the plain data plus a :class:`LineMap` from key paths to
1-based lines. CloudFormation short tags (``!GetAtt``, ``!Ref``, ``!Sub`` ...) that appear in
upstream Cirrus definitions load as their long JSON forms (or, for state machines, as
``"!GetAtt publish.Arn"`` text)::

    >>> doc = load_yaml_text("a:\\n  b: !GetAtt publish.Arn\\n", Path("x.yml"))
    >>> doc.data
    {'a': {'b': {'Fn::GetAtt': ['publish', 'Arn']}}}
    >>> doc.lines.line(("a", "b"))
    2
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cirrus.project.problems import Problem

__all__ = ["KeyPath", "LineMap", "LoadedYaml", "dotted", "load_yaml", "load_yaml_text"]

KeyPath = tuple[Any, ...]


class _Loader(yaml.SafeLoader):
    """A safe loader that reads CloudFormation short-form tags as their long JSON forms."""


class _TextTagLoader(_Loader):
    """A safe loader that keeps scalar short-form tags as text: ``"!GetAtt publish.Arn"``.

    State machines use this form: a ``Resource`` stays a string, as ASL requires, and
    the workflow engine resolves ``!GetAtt <task>.Arn`` to the project task.
    """


def _construct_text_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.SequenceNode) and suffix == "GetAtt":
        parts = loader.construct_sequence(node, deep=True)
        return f"!GetAtt {'.'.join(str(part) for part in parts)}"
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        # A substitution has nothing to resolve locally: keep its text.
        return value if suffix == "Sub" else f"!{suffix} {value}"
    return _construct_cloudformation(loader, suffix, node)


def _construct_cloudformation(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if suffix in ("Ref", "Condition"):
        return {suffix: value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_Loader.add_multi_constructor("!", _construct_cloudformation)
_TextTagLoader.add_multi_constructor("!", _construct_text_tag)


@dataclass
class LineMap:
    """1-based line of each key (mapping key or list index path) in a document."""

    lines: dict[KeyPath, int] = field(default_factory=dict)

    def line(self, path: KeyPath) -> int | None:
        """Line of ``path``, or of its nearest ancestor that has one."""
        for end in range(len(path), -1, -1):
            found = self.lines.get(tuple(path[:end]))
            if found is not None:
                return found
        return None


@dataclass
class LoadedYaml:
    """A parsed document with the lines of its keys."""

    file: Path
    data: Any
    lines: LineMap
    duplicates: list[tuple[KeyPath, int]] = field(default_factory=list)

    def line(self, path: KeyPath) -> int | None:
        """Line of ``path`` (or its nearest ancestor) in :attr:`file`."""
        return self.lines.line(path)


def dotted(path: KeyPath) -> str:
    """A key path as users write it: ``States.publish.Retry[0]``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _record(loader: yaml.SafeLoader, node: yaml.Node, path: KeyPath, out: LoadedYaml) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = loader.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                continue
            key_path = (*path, key)
            line = key_node.start_mark.line + 1
            if key in seen:
                out.duplicates.append((key_path, line))
            seen.add(key)
            out.lines.lines[key_path] = line
            _record(loader, value_node, key_path, out)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            item_path = (*path, index)
            out.lines.lines[item_path] = item.start_mark.line + 1
            _record(loader, item, item_path, out)


def load_yaml_text(text: str, file: Path, *, text_tags: bool = False) -> LoadedYaml:
    """Parse YAML ``text`` that came from ``file``.

    Args:
        text: the YAML.
        file: where it came from, for messages.
        text_tags: keep scalar short-form tags as ``"!Tag value"`` strings (state
            machines) instead of CloudFormation long forms (``{"Fn::Tag": value}``).

    Raises:
        ValueError: the text is not YAML; the message carries the line.
    """
    loader = (_TextTagLoader if text_tags else _Loader)(text)
    try:
        try:
            node = loader.get_single_node()
        except yaml.MarkedYAMLError as err:
            mark = err.problem_mark or err.context_mark
            line = mark.line + 1 if mark else None
            raise _YamlSyntaxError(line, str(err.problem or err)) from err
        except yaml.YAMLError as err:
            raise _YamlSyntaxError(None, str(err)) from err
        out = LoadedYaml(file=file, data=None, lines=LineMap({(): 1}))
        if node is not None:
            try:
                out.data = loader.construct_document(node)
            except yaml.YAMLError as err:
                mark = getattr(err, "problem_mark", None)
                raise _YamlSyntaxError(mark.line + 1 if mark else None, str(err)) from err
            _record(loader, node, (), out)
        return out
    finally:
        loader.dispose()


class _YamlSyntaxError(ValueError):
    def __init__(self, line: int | None, problem: str) -> None:
        super().__init__(problem)
        self.line = line
        self.problem = problem


def load_yaml(
    file: Path, what: str = "", *, text_tags: bool = False
) -> tuple[LoadedYaml | None, list[Problem]]:
    """Read ``file`` as YAML (JSON files too: JSON is YAML), keeping key lines.

    Args:
        file: the file to read.
        what: the field that names this file in messages (usually empty).
        text_tags: see :func:`load_yaml_text`.

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
        loaded = load_yaml_text(text, file, text_tags=text_tags)
    except _YamlSyntaxError as err:
        if file.suffix == ".json":
            return _load_json_fallback(file, text, what, err)
        return None, [Problem(file, err.line, what, f"is not valid YAML: {err.problem}")]
    problems = [
        Problem(file, line, dotted(path), "appears twice: keep one (the last one wins)")
        for path, line in loaded.duplicates
    ]
    return loaded, problems


def _load_json_fallback(
    file: Path, text: str, what: str, yaml_error: _YamlSyntaxError
) -> tuple[LoadedYaml | None, list[Problem]]:
    # Some valid JSON (e.g. "\/" escapes, tabs) is not YAML 1.1: load it without lines.
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        return None, [Problem(file, err.lineno, what, f"is not valid JSON: {err.msg}")]
    del yaml_error
    return LoadedYaml(file=file, data=data, lines=LineMap({(): 1})), []
