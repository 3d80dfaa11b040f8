"""Problems found in a project: where they are, which field, and what to do.

A :class:`Problem` points at a file and line the way compilers do, so editors can jump
to it::

    tasks/my-task/definition.yml:7: lambda.timeout: 3600 s is over the Lambda limit ...
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cirrus.errors import ConfigError

__all__ = ["Problem", "raise_for_problems"]

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One mistake in a project file.

    Attributes:
        file: the file that holds the mistake.
        line: 1-based line of the offending field, or ``None`` when unknown.
        field: dotted path of the field, e.g. ``lambda.timeout`` (empty for the whole file).
        message: what is wrong and how to fix it.
        severity: ``"error"`` fails validation; ``"warning"`` is reported only.
    """

    file: Path
    line: int | None
    field: str
    message: str
    severity: Severity = "error"

    def location(self, relative_to: Path | None = None) -> str:
        """``file:line`` with the file shown relative to ``relative_to`` when inside it."""
        file = self.file
        if relative_to is not None:
            with contextlib.suppress(ValueError):
                file = self.file.relative_to(relative_to)
        return f"{file}:{self.line}" if self.line else str(file)

    def format(self, relative_to: Path | None = None) -> str:
        """The problem on one line: ``file:line: field: message``."""
        prefix = "warning: " if self.severity == "warning" else ""
        field = f"{self.field}: " if self.field else ""
        return f"{self.location(relative_to)}: {prefix}{field}{self.message}"

    def __str__(self) -> str:
        return self.format()

    @property
    def is_error(self) -> bool:
        """Whether this problem fails validation."""
        return self.severity == "error"


def raise_for_problems(problems: list[Problem], what: str) -> None:
    """Raise one :class:`ConfigError` listing every error in ``problems``.

    Args:
        problems: problems found while reading ``what``; warnings are ignored.
        what: short name of the thing that was read, used as the message head.

    Raises:
        ConfigError: when at least one problem is an error.
    """
    errors = [problem for problem in problems if problem.is_error]
    if errors:
        lines = "\n".join(f"  {problem}" for problem in errors)
        raise ConfigError(f"{what} has {len(errors)} problem(s):\n{lines}")
