"""The command-line entry of a task: ``python task.py run INPUT [options]``.

stactask's flags work unchanged (``--no-upload``, ``--no-validate``, ``--upload``,
``--validate``, the deprecated ``--skip-upload``/``--skip-validation``, ``--local``,
``--version``); without INPUT the payload is read from stdin, and without a command the
help is printed.

This is how batch-type tasks run: INPUT is a payload file, URL, ``-`` for stdin, or a
``{"url": ..., "url_out": ...}`` reference; the output payload goes to ``--output`` (a path
or URL) or stdout. Exit status: 0 success, 1 task failure, 2 invalid input. When
``CIRRUS_TASK_ERROR_FILE`` is set, a failure also writes ``{"error", "cause"}`` there so
the process that started the task can report the task's own error name.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import warnings
from pathlib import Path
from typing import Any

__all__ = [
    "ERROR_FILE_ENV",
    "LOG_PAYLOAD_ENV",
    "build_parser",
    "main",
    "parse_args",
    "read_input",
    "run_and_report",
]

ERROR_FILE_ENV = "CIRRUS_TASK_ERROR_FILE"
LOG_PAYLOAD_ENV = "CIRRUS_LOG_PAYLOAD_ID"
"""The payload id the log lines of a task's own process carry (set by the pipeline)."""
EXIT_FAILED = 1
EXIT_INVALID = 2


class _DeprecatedFlag(argparse.Action):
    """A store-true flag that warns it is deprecated and names its replacement."""

    def __init__(self, option_strings: list[str], dest: str, replacement: str, **kwargs: Any):
        self.replacement = replacement
        super().__init__(option_strings, dest, nargs=0, default=False, **kwargs)

    def __call__(self, parser: Any, namespace: Any, values: Any, option: Any = None) -> None:
        warnings.warn(
            f"{option} is deprecated: use {self.replacement}", FutureWarning, stacklevel=2
        )
        setattr(namespace, self.dest, True)


def build_parser(task_class: type) -> argparse.ArgumentParser:
    """stactask's command line: ``run [INPUT] [--output OUT] [--no-upload] [--no-validate] ...``."""
    parser = argparse.ArgumentParser(
        prog=getattr(task_class, "name", "task"),
        description=getattr(task_class, "description", None),
    )
    parser.add_argument(
        "--version", action="version", version=str(getattr(task_class, "version", "0.1.0"))
    )
    commands = parser.add_subparsers(dest="command")
    run = commands.add_parser(
        "run", help="process a payload", formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    run.add_argument("input", nargs="?", help="payload file or URL; stdin when absent or -")
    run.add_argument("--output", help="where to write the output payload (default: stdout)")
    run.add_argument("--logging", default="INFO", help="DEBUG, INFO, WARNING, ERROR")
    run.add_argument("--workdir", help="work directory (created; kept afterwards)")
    run.add_argument("--save-workdir", action="store_true", help="keep the work directory")
    run.add_argument(
        "--upload", dest="upload", action="store_true", default=True, help="upload assets and items"
    )
    run.add_argument(
        "--no-upload", dest="upload", action="store_false", help="keep assets and items local"
    )
    run.add_argument(
        "--validate",
        dest="validate",
        action="store_true",
        default=True,
        help="call the task's validate()",
    )
    run.add_argument(
        "--no-validate", dest="validate", action="store_false", help="do not call validate()"
    )
    run.add_argument(
        "--skip-upload",
        action=_DeprecatedFlag,
        replacement="--no-upload",
        help="deprecated: --no-upload",
    )
    run.add_argument(
        "--skip-validation",
        action=_DeprecatedFlag,
        replacement="--no-validate",
        help="deprecated: --no-validate",
    )
    run.add_argument(
        "--local",
        action="store_true",
        help="work in ./local-output, keep it, no uploads, output to "
        "local-output/output-payload.json",
    )
    return parser


def parse_args(task_class: type, argv: list[str]) -> dict[str, Any]:
    """Parse a task's command line into stactask's dict of arguments.

    Without a command the help is printed and the process exits (status 0), as stactask does.
    """
    parser = build_parser(task_class)
    args = {key: value for key, value in vars(parser.parse_args(argv)).items() if value is not None}
    if args.pop("skip_upload", False):
        args["upload"] = False
    if args.pop("skip_validation", False):
        args["validate"] = False
    if args.pop("local", False):
        args["save_workdir"] = True
        args["upload"] = False
        args.setdefault("workdir", "local-output")
        args.setdefault("output", str(Path(args["workdir"]) / "output-payload.json"))
    if args.get("command") is None:
        parser.print_help()
        sys.exit(0)
    return args


def read_input(source: str) -> dict[str, Any]:
    """Read a payload (or reference) from a path, URL or ``-`` (stdin).

    Raises:
        PayloadError: the input is not a JSON object.
    """
    from cirrus.errors import PayloadError

    if source == "-":
        text = sys.stdin.read()
    elif "://" in source:
        from cirrus.storage import read_bytes

        text = read_bytes(source).decode()
    else:
        text = Path(source).read_text()
    try:
        data = json.loads(text)
    except ValueError as err:
        raise PayloadError("$", f"of {source} is not JSON ({err})", "give a JSON payload") from err
    if not isinstance(data, dict):
        raise PayloadError("$", f"of {source} is not a JSON object", "give a JSON payload")
    return data


def write_output(output: Any, destination: str | None) -> None:
    """Write an output payload to a path or URL, or print it on stdout."""
    text = json.dumps(output)
    if destination is None:
        from cirrus.task.machine_output import machine_stdout

        machine_stdout().write(text + "\n")
    elif "://" in destination:
        from cirrus.storage import write_bytes

        write_bytes(destination, text.encode(), content_type="application/json")
    else:
        Path(destination).parent.mkdir(parents=True, exist_ok=True)
        Path(destination).write_text(text)


def run_and_report(
    task_class: type,
    source: str,
    destination: str | None,
    *,
    log_level: str | None = None,
    **options: Any,
) -> int:
    """Run a task from the command line; returns the exit status.

    Failures are reported on stderr as ``<Error>: <message>`` after their traceback (and in
    the error file). What the task writes (logging, warnings, print) goes to stderr as log
    lines with time, level, task and payload id; stdout holds only the output payload.
    """
    from cirrus.errors import TaskError
    from cirrus.task.children import CHILD_ENV, die_with_parent
    from cirrus.task.invoke import describe_error, describe_exit, invoke_task, is_invalid
    from cirrus.task.machine_output import guard_stdout
    from cirrus.task.tasklog import StreamLog, bound, install, parse_level, task_named

    if os.environ.get(CHILD_ENV):  # started by a pipeline: end with it
        die_with_parent()
    guard_stdout()
    try:
        level = parse_level(log_level or os.environ.get("CIRRUS_LOG_LEVEL") or "INFO")
    except ValueError:
        level = logging.INFO
    install(level)
    name = str(getattr(task_class, "name", "") or task_class.__name__)
    sink = StreamLog(sys.__stderr__ or sys.stderr, os.environ.get(LOG_PAYLOAD_ENV, ""), level=level)
    try:
        event = read_input(source)
        with bound(sink), task_named(name):
            try:
                output = invoke_task(task_class, event, **options)
            except (SystemExit, KeyboardInterrupt) as exit_:
                error, cause = describe_exit(exit_)
                logging.getLogger("cirrus.task").error("%s: %s", error, cause, exc_info=exit_)
                raise TaskError(error, cause) from exit_
            except Exception as err:
                error, cause = describe_error(err)
                logging.getLogger("cirrus.task").error("%s: %s", error, cause, exc_info=err)
                raise
        write_output(output, destination)
    except Exception as err:  # noqa: BLE001 - any task failure becomes an exit status
        name, message = describe_error(err)
        sys.stderr.write(f"{name}: {message}\n")
        error_file = os.environ.get(ERROR_FILE_ENV)
        if error_file:
            Path(error_file).write_text(json.dumps({"error": name, "cause": message}))
        return EXIT_INVALID if is_invalid(err) else EXIT_FAILED
    return 0


def main(task_class: type, argv: list[str] | None = None) -> None:
    """Parse the command line and run the task; exits with the task's status."""
    args = parse_args(task_class, sys.argv[1:] if argv is None else argv)
    options: dict[str, Any] = {"upload": args["upload"], "validate": args["validate"]}
    if args.get("workdir"):
        options["workdir"] = args["workdir"]
    if args.get("save_workdir"):
        options["save_workdir"] = True
    source = args.get("input") or "-"
    level = str(args.get("logging", "INFO"))
    sys.exit(run_and_report(task_class, source, args.get("output"), log_level=level, **options))
