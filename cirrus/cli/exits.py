"""Exit statuses of the ``cirrus`` commands, and the one mapping of errors to them.

Every command reports a cirrus error the same way: a one-line message on stderr and the
status :func:`exit_code` gives::

    with reporting_errors():
        ...  # an InvalidInput here exits 2, any other CirrusError 1

=====  ===========================================================================
0      success
1      a cirrus error (configuration, storage, state, task) or payloads that did not
       succeed
2      what the command was given is not valid: a payload (``InvalidInput``), an ASL
       definition (``DefinitionError``), an input file that cannot be read
       (:class:`cirrus.cli.common.InputFileError`), or the command line itself (as click
       does)
10/11  ``cirrus run-workflow``: the workflow failed / timed out
=====  ===========================================================================
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import IntEnum

import click

from cirrus.errors import CirrusError, DefinitionError, InvalidInput

__all__ = ["ExitCode", "exit_code", "reporting_errors"]


class ExitCode(IntEnum):
    """The exit statuses of ``cirrus`` commands."""

    OK = 0
    FAILED = 1
    """A cirrus error, or payloads that did not succeed."""
    INVALID = 2
    """The input the command was given (payload, definition, command line) is not valid."""
    WORKFLOW_FAILED = 10
    """``cirrus run-workflow``: the payload failed, was invalid or was aborted."""
    WORKFLOW_TIMED_OUT = 11
    """``cirrus run-workflow``: the execution timed out."""
    INTERRUPTED = 130
    """Stopped by Ctrl-C (128 + SIGINT, as shells report it)."""


def exit_code(error: CirrusError) -> ExitCode:
    """The exit status for a cirrus error, the same in every command."""
    if isinstance(error, InvalidInput | DefinitionError):
        return ExitCode.INVALID
    return ExitCode.FAILED


@contextmanager
def reporting_errors() -> Iterator[None]:
    """Turn a cirrus error into a one-line message on stderr and its exit status."""
    try:
        yield
    except CirrusError as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(exit_code(err))
