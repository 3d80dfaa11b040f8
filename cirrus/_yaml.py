"""The one YAML reader: CloudFormation tags in their long forms, and the line of every key.

Workflow and component definitions are YAML (JSON is YAML too) and may use the
CloudFormation short tags of upstream Cirrus definitions. Every tag loads as the JSON
form CloudFormation itself uses, so a definition reads the same from YAML and JSON::

    >>> load_yaml_data("a: !GetAtt publish.Arn\\nb: !Ref Queue\\n")
    {'a': {'Fn::GetAtt': ['publish', 'Arn']}, 'b': {'Ref': 'Queue'}}
    >>> load_yaml_data("c: !Sub ['arn-${x}', {x: 1}]")
    {'c': {'Fn::Sub': ['arn-${x}', {'x': 1}]}}

:func:`load_yaml_text` also records the 1-based line of every key path, for messages
that point into the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "KeyPath",
    "LineMap",
    "LoadedYaml",
    "YamlSyntaxError",
    "dotted",
    "load_yaml_data",
    "load_yaml_text",
]

KeyPath = tuple[Any, ...]
"""A path of mapping keys and list indexes into a document."""


class _Loader(yaml.SafeLoader):
    """A safe loader that reads CloudFormation short-form tags as their long JSON forms."""


def _construct_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
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


_Loader.add_multi_constructor("!", _construct_tag)


class YamlSyntaxError(ValueError):
    """The text is not YAML.

    Attributes:
        line: 1-based line of the problem, when known.
        problem: what is wrong.
    """

    def __init__(self, line: int | None, problem: str) -> None:
        super().__init__(problem)
        self.line = line
        self.problem = problem


def load_yaml_data(text: str) -> Any:
    """Parse YAML text into plain data (no line numbers: the fast path).

    Raises:
        YamlSyntaxError: the text is not YAML.
    """
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        raise YamlSyntaxError(mark.line + 1 if mark else None, str(err.problem or err)) from err
    except yaml.YAMLError as err:
        raise YamlSyntaxError(None, str(err)) from err


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


def load_yaml_text(text: str, file: Path) -> LoadedYaml:
    """Parse YAML ``text`` that came from ``file``, recording the line of every key.

    Raises:
        YamlSyntaxError: the text is not YAML; it carries the line.
    """
    loader = _Loader(text)
    try:
        try:
            node = loader.get_single_node()
        except yaml.MarkedYAMLError as err:
            mark = err.problem_mark or err.context_mark
            line = mark.line + 1 if mark else None
            raise YamlSyntaxError(line, str(err.problem or err)) from err
        except yaml.YAMLError as err:
            raise YamlSyntaxError(None, str(err)) from err
        out = LoadedYaml(file=file, data=None, lines=LineMap({(): 1}))
        if node is not None:
            try:
                out.data = loader.construct_document(node)
            except yaml.YAMLError as err:
                mark = getattr(err, "problem_mark", None)
                raise YamlSyntaxError(mark.line + 1 if mark else None, str(err)) from err
            _record(loader, node, (), out)
        return out
    finally:
        loader.dispose()
