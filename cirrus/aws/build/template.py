"""A CloudFormation template as plain Python data, and the intrinsic functions it uses.

    >>> template = Template("demo")
    >>> template.add("PayloadBucket", "AWS::S3::Bucket", {}, source="cirrus")
    >>> template.add("Queue", "AWS::SQS::Queue", {"QueueName": sub("${AWS::StackName}-q")})
    >>> template.to_dict()["Resources"]["Queue"]["Properties"]
    {'QueueName': {'Fn::Sub': '${AWS::StackName}-q'}}

Every resource remembers where it came from (cirrus itself, a task's ``batch.resources``, a
file in ``cloudformation/``), so two that claim one logical id are refused with both names.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from cirrus.errors import ConfigError

__all__ = [
    "Template",
    "arn",
    "getatt",
    "logical_id",
    "ref",
    "sub",
]

FORMAT_VERSION = "2010-09-09"


def ref(name: str) -> dict[str, Any]:
    """``{"Ref": name}``."""
    return {"Ref": name}


def getatt(name: str, attribute: str = "Arn") -> dict[str, Any]:
    """``{"Fn::GetAtt": [name, attribute]}``."""
    return {"Fn::GetAtt": [name, attribute]}


def sub(text: str) -> dict[str, Any]:
    """``{"Fn::Sub": text}``."""
    return {"Fn::Sub": text}


def arn(
    service: str, resource: str, *, region: bool = True, account: bool = True
) -> dict[str, Any]:
    """An ARN in this stack's partition, region and account (``Fn::Sub``).

    >>> arn("states", "stateMachine:demo-*")
    {'Fn::Sub': 'arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:demo-*'}
    """
    where = "${AWS::Region}" if region else ""
    who = "${AWS::AccountId}" if account else ""
    return sub(f"arn:${{AWS::Partition}}:{service}:{where}:{who}:{resource}")


def logical_id(*parts: str) -> str:
    """A CloudFormation logical id from names: ``("make-cog", "Task")`` → ``MakeCogTask``."""
    words: list[str] = []
    for part in parts:
        for word in "".join(c if c.isalnum() else " " for c in part).split():
            words.append(word[:1].upper() + word[1:])
    return "".join(words)


@dataclass
class Template:
    """A flat CloudFormation stack being assembled.

    Attributes:
        description: the template's ``Description``.
        parameters: ``Parameters`` by name.
        resources: ``Resources`` by logical id.
        outputs: ``Outputs`` by name.
        conditions: ``Conditions`` by name.
        sources: where each resource and parameter came from, by name (outputs and
            conditions as ``Outputs:<name>``, ``Conditions:<name>``).
    """

    description: str
    parameters: dict[str, dict[str, Any]] = field(default_factory=dict)
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    conditions: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)

    def add(
        self,
        name: str,
        type_: str,
        properties: dict[str, Any],
        *,
        source: str = "cirrus",
        **attributes: Any,
    ) -> str:
        """Add a resource; returns its logical id.

        Args:
            name: the logical id.
            type_: the resource type, e.g. ``AWS::SQS::Queue``.
            properties: its ``Properties``.
            source: where it comes from, for clash messages.
            **attributes: other resource attributes (``DependsOn``, ``DeletionPolicy``...).

        Raises:
            ConfigError: another resource, parameter, output or condition has that name.
        """
        resource: dict[str, Any] = {"Type": type_, "Properties": properties, **attributes}
        self.add_section("Resources", name, resource, source)
        return name

    def add_section(self, section: str, name: str, value: Any, source: str) -> None:
        """Put ``value`` under ``name`` in a section (``Resources``, ``Outputs``, ...).

        Raises:
            ConfigError: the name is taken; the message names both sources.
        """
        if not name.isalnum():
            raise ConfigError(
                f"{source}: {section} name {name!r} is not a CloudFormation logical id: "
                "use letters and digits only"
            )
        # Parameters and Resources share one namespace (both are Ref targets)
        key = name if section in ("Parameters", "Resources") else f"{section}:{name}"
        taken = self.sources.get(key)
        if taken is not None:
            raise ConfigError(
                f"{source}: logical id `{name}` is already used by {taken}: rename one of them"
            )
        self._section(section)[name] = value
        self.sources[key] = source

    def _section(self, section: str) -> dict[str, Any]:
        sections: dict[str, dict[str, Any]] = {
            "Parameters": self.parameters,
            "Resources": self.resources,
            "Outputs": self.outputs,
            "Conditions": self.conditions,
        }
        if section not in sections:
            raise ConfigError(f"a template fragment may hold {', '.join(sections)}, not {section}")
        return sections[section]

    def output(self, name: str, value: Any, description: str = "") -> None:
        """Add an output (not exported: exports would tie other stacks to this one)."""
        entry: dict[str, Any] = {"Value": value}
        if description:
            entry["Description"] = description
        self.add_section("Outputs", name, entry, "cirrus")

    def to_dict(self) -> dict[str, Any]:
        """The template as CloudFormation reads it (empty sections left out)."""
        template: dict[str, Any] = {
            "AWSTemplateFormatVersion": FORMAT_VERSION,
            "Description": self.description,
        }
        for section in ("Parameters", "Conditions", "Resources", "Outputs"):
            content = self._section(section)
            if content:
                template[section] = content
        return template

    def to_json(self) -> str:
        """The template as JSON text; the same template always gives the same text."""
        return json.dumps(self.to_dict(), indent=2) + "\n"
