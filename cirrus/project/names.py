"""Names of projects and components: they become parts of AWS resource names.

A component name is used in Lambda function, IAM role, Batch job definition and state
machine names, prefixed with the project name. AWS allows letters, digits and hyphens
there (plus a few characters not every service accepts), and Lambda function and IAM role
names stop at 64 characters; the limits below keep ``<project>-<component>`` within that.
"""

from __future__ import annotations

import re

__all__ = [
    "MAX_COMPONENT_NAME",
    "MAX_PROJECT_NAME",
    "check_name",
    "class_name_for",
    "project_name_for",
]

MAX_COMPONENT_NAME = 40
MAX_PROJECT_NAME = 20
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]*")


def check_name(name: str, what: str = "component", limit: int = MAX_COMPONENT_NAME) -> str | None:
    """Why ``name`` cannot become part of an AWS resource name, or ``None`` if it can.

    Args:
        name: the proposed name.
        what: what is being named, for the message ("task", "project", ...).
        limit: the longest allowed name.
    """
    allowed = (
        f"a {what} name must start with a letter, contain only letters, digits and hyphens, "
        f"and be at most {limit} characters"
    )
    if not name:
        return f"is empty: {allowed}"
    if len(name) > limit:
        return f"`{name}` is {len(name)} characters long: {allowed}"
    if not _NAME.fullmatch(name):
        bad = sorted({char for char in name if not (char.isascii() and char.isalnum())} - {"-"})
        if bad:
            shown = " ".join(repr(char) for char in bad)
            return f"`{name}` contains {shown}: {allowed}"
        return f"`{name}` does not start with a letter: {allowed}"
    return None


def project_name_for(text: str) -> str:
    """A valid project name derived from a folder name (``My Project`` -> ``My-Project``)."""
    name = re.sub(r"[^A-Za-z0-9-]+", "-", text).strip("-")
    if not name or not name[0].isalpha():
        name = f"cirrus-{name}" if name else "cirrus"
    return name[:MAX_PROJECT_NAME].rstrip("-")


def class_name_for(name: str) -> str:
    """The Python class name a template uses for a component (``make-cog`` -> ``MakeCog``)."""
    parts = re.split(r"[^A-Za-z0-9]+", name)
    return "".join(part[:1].upper() + part[1:] for part in parts if part) or "Component"
