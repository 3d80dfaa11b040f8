"""The ``definition.yml`` schema of each component kind, and its checker.

The schema is data (:class:`Field` trees), so docs/projects.md, the checker and the
typed settings in :mod:`cirrus.project.settings` describe the same fields. Every problem
names the file, the line and the dotted field, and says what is allowed::

    tasks/big/definition.yml:6: lambda.timeout: is 3600 s, over the Lambda limit of 900 s ...
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cirrus.project.problems import Problem
from cirrus.project.yamlfile import KeyPath, LoadedYaml, dotted

__all__ = [
    "COMPUTE_ENVIRONMENTS",
    "FARGATE_VCPUS",
    "LAMBDA_MAX_MEMORY",
    "LAMBDA_MAX_TIMEOUT",
    "LAMBDA_MIN_MEMORY",
    "Field",
    "check_definition",
    "schema_for",
]

LAMBDA_MAX_TIMEOUT = 900
LAMBDA_MIN_MEMORY = 128
LAMBDA_MAX_MEMORY = 10_240
BATCH_MIN_TIMEOUT = 60
BATCH_MAX_RETRY = 10
COMPUTE_ENVIRONMENTS = ("fargate", "fargate-spot", "ec2", "ec2-spot")
FARGATE_VCPUS = (0.25, 0.5, 1, 2, 4, 8, 16)

Check = Callable[[Any], str | None]


@dataclass(frozen=True)
class Field:
    """One field of a definition.

    Attributes:
        types: Python types the value may have (``bool`` never counts as a number).
        expected: the allowed values in words, for messages and docs.
        doc: one line of documentation.
        required: whether the field must be present.
        check: further check of a well-typed value; returns the problem or ``None``.
        fields: the known keys of a mapping; any other key is a problem.
        values: the schema of every value of an open mapping or every list item.
        keys: check of every key of an open mapping.
    """

    types: tuple[type, ...]
    expected: str
    doc: str = ""
    required: bool = False
    check: Check | None = None
    fields: Mapping[str, Field] | None = None
    values: Field | None = None
    keys: Check | None = None


# Keys from upstream Cirrus (Serverless-style) definitions, and common slips, with our name.
RENAMED = {
    "memorySize": "memory",
    "memory_size": "memory",
    "iamRoleStatements": "iam_statements",
    "vcpus": "vcpu",
    "gpus": "gpu",
    "jobQueue": "job_queue",
    "job-queue": "job_queue",
    "computeEnvironment": "compute_environment",
    "retries": "retry",
    "env": "environment",
    "desc": "description",
}


def _in_range(low: float | None, high: float | None, unit: str, hint: str = "") -> Check:
    def check(value: Any) -> str | None:
        if (low is not None and value < low) or (high is not None and value > high):
            if low is not None and high is not None:
                bounds = f"{low:,}..{high:,}"
            elif low is not None:
                bounds = f"at least {low:,}"
            else:
                bounds = f"at most {high:,}"
            return f"is {value:,}{unit}; allowed: {bounds}{unit}{hint}"
        return None

    return check


def _non_empty(value: Any) -> str | None:
    return "is empty: write one line saying what this component does" if not value.strip() else None


def _env_name(value: Any) -> str | None:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
        return (
            f"`{value}` is not an environment variable name: use letters, digits and "
            "underscores, not starting with a digit"
        )
    return None


def _handler(value: Any) -> str | None:
    if not re.fullmatch(r"[A-Za-z_][\w.]*\.[A-Za-z_]\w*", value):
        return f"is {value!r}: write `module.function`, e.g. `task.handler`"
    return None


def _identifier(value: Any) -> str | None:
    return None if value.isidentifier() else f"is {value!r}: write a Python class name"


def _one_of(choices: tuple[str, ...]) -> Check:
    def check(value: Any) -> str | None:
        return None if value in choices else f"is {value!r}: allowed: {', '.join(choices)}"

    return check


def _cloudformation(value: Any) -> str | None:
    resources = value.get("Resources")
    if not isinstance(resources, dict) or not resources:
        return "must hold a `Resources` mapping of CloudFormation resources (Type, Properties)"
    for name, resource in resources.items():
        if not isinstance(resource, dict) or not isinstance(resource.get("Type"), str):
            return f"resource `{name}` needs a `Type`, e.g. AWS::Batch::JobDefinition"
    return None


TEXT = (str,)
FLAG = (bool,)
WHOLE = (int,)
NUMBER = (int, float)
MAPPING = (dict,)
LIST = (list,)

ENVIRONMENT = Field(
    MAPPING,
    "a mapping of VARIABLE: value",
    "environment variables set when the code runs",
    keys=_env_name,
    values=Field((str, int, float, bool), "a string, number or boolean"),
)

IAM_STATEMENT = Field(
    MAPPING,
    "an IAM policy statement (Effect, Action, Resource)",
    fields={
        "Sid": Field(TEXT, "a string"),
        "Effect": Field(TEXT, "Allow or Deny", required=True, check=_one_of(("Allow", "Deny"))),
        "Action": Field((str, list), "an action or a list of actions", required=True),
        "Resource": Field((str, list, dict), "a resource ARN or a list of them", required=True),
        "Condition": Field(MAPPING, "an IAM condition mapping"),
    },
)


def _lambda_fields(suggest_batch: bool) -> dict[str, Field]:
    hint = (
        " (the Lambda limits): run longer or bigger work on Batch instead (add a `batch` section)"
        if suggest_batch
        else ""
    )
    return {
        "enabled": Field(FLAG, "true or false", "false turns the Lambda variant off"),
        "handler": Field(
            TEXT,
            "module.function",
            "entry point inside the code folder (default `task.handler`)",
            check=_handler,
        ),
        "image": Field(TEXT, "a container image URI", "run from a container image, not code"),
        "memory": Field(
            WHOLE,
            f"{LAMBDA_MIN_MEMORY}..{LAMBDA_MAX_MEMORY} (MB)",
            "memory in MB (default 1024)",
            check=_in_range(LAMBDA_MIN_MEMORY, LAMBDA_MAX_MEMORY, " MB", hint),
        ),
        "timeout": Field(
            WHOLE,
            f"1..{LAMBDA_MAX_TIMEOUT} (seconds)",
            "seconds before the run is stopped (default 300)",
            check=_in_range(1, LAMBDA_MAX_TIMEOUT, " s", hint),
        ),
        "environment": ENVIRONMENT,
        "iam_statements": Field(
            LIST,
            "a list of IAM policy statements",
            "extra permissions for the function's role",
            values=IAM_STATEMENT,
        ),
    }


BATCH_FIELDS: dict[str, Field] = {
    "enabled": Field(FLAG, "true or false", "false turns the Batch variant off"),
    "image": Field(TEXT, "a container image URI", "the job's container image"),
    "vcpu": Field(
        NUMBER, "a number above 0", "vCPUs for the job (default 1)", check=_in_range(0.25, 256, "")
    ),
    "memory": Field(
        WHOLE, "MB, at least 512", "memory in MB (default 2048)", check=_in_range(512, None, " MB")
    ),
    "gpu": Field(WHOLE, "0 or more", "GPUs for the job (default 0)", check=_in_range(0, 16, "")),
    "job_queue": Field(TEXT, "a job queue name or ARN", "run on this existing job queue"),
    "compute_environment": Field(
        TEXT,
        " | ".join(COMPUTE_ENVIRONMENTS),
        "kind of compute environment to create (default fargate)",
        check=_one_of(COMPUTE_ENVIRONMENTS),
    ),
    "retry": Field(
        WHOLE,
        f"1..{BATCH_MAX_RETRY}",
        "attempts before the job fails (default 1)",
        check=_in_range(1, BATCH_MAX_RETRY, ""),
    ),
    "timeout": Field(
        WHOLE,
        f"seconds, at least {BATCH_MIN_TIMEOUT}",
        "seconds before the job is stopped (default: none)",
        check=_in_range(BATCH_MIN_TIMEOUT, None, " s"),
    ),
    "environment": ENVIRONMENT,
    "resources": Field(
        MAPPING,
        "a CloudFormation fragment with `Resources`",
        "raw CloudFormation resources used instead of the generated ones",
        check=_cloudformation,
    ),
}

_COMMON: dict[str, Field] = {
    "description": Field(
        TEXT, "one line of text", "what the component does", required=True, check=_non_empty
    ),
    "enabled": Field(FLAG, "true or false", "false leaves the component out of builds"),
    "environment": ENVIRONMENT,
}

TASK_FIELDS: dict[str, Field] = {
    **_COMMON,
    "class": Field(
        TEXT,
        "a Python class name",
        "the Task class in src/task/task.py, when the file defines several",
        check=_identifier,
    ),
    "lambda": Field(MAPPING, "a mapping", "run as a Lambda function", fields=_lambda_fields(True)),
    "batch": Field(MAPPING, "a mapping", "run as a Batch job", fields=BATCH_FIELDS),
}

LAMBDA_COMPONENT_FIELDS: dict[str, Field] = {
    **_COMMON,
    "lambda": Field(MAPPING, "a mapping", "Lambda settings", fields=_lambda_fields(False)),
}

WORKFLOW_FIELDS: dict[str, Field] = {
    "name": Field(TEXT, "the workflow's folder name", "optional; must match the folder"),
    **_COMMON,
    # upstream Cirrus workflows have none: the state machine's Comment stands in for it
    "description": Field(
        TEXT, "one line of text", "what the workflow does (default: its Comment)", check=_non_empty
    ),
    "definition": Field(
        MAPPING,
        "an Amazon States Language state machine",
        "the state machine (or put it in a sibling workflow.json / workflow.yml)",
    ),
}


def schema_for(kind: str) -> dict[str, Field]:
    """The top-level fields of a ``definition.yml`` for a component kind."""
    if kind == "task":
        return TASK_FIELDS
    if kind == "workflow":
        return WORKFLOW_FIELDS
    return LAMBDA_COMPONENT_FIELDS


def _type_ok(value: Any, types: tuple[type, ...]) -> bool:
    if isinstance(value, bool) and bool not in types:
        return False
    return isinstance(value, types)


class _Checker:
    def __init__(self, loaded: LoadedYaml) -> None:
        self.loaded = loaded
        self.problems: list[Problem] = []

    def add(self, path: KeyPath, message: str) -> None:
        line = self.loaded.line(path)
        self.problems.append(Problem(self.loaded.file, line, dotted(path), message))

    def mapping(self, data: dict[Any, Any], fields: Mapping[str, Field], path: KeyPath) -> None:
        suggested: set[str] = set()
        for key, value in data.items():
            spec = fields.get(key) if isinstance(key, str) else None
            if spec is None:
                guess = self._guess(str(key), fields)
                if guess:
                    suggested.add(guess)
                    self.add((*path, key), f"is not a field here: did you mean `{guess}`?")
                else:
                    self.add((*path, key), f"is not a field here; allowed: {', '.join(fields)}")
            else:
                self.value(value, spec, (*path, key))
        for key, spec in fields.items():
            # A misspelt required key is reported once, as the misspelling.
            if spec.required and key not in data and key not in suggested:
                line = self.loaded.line(path)
                message = f"is missing: add `{key}: <{spec.expected}>`"
                self.problems.append(Problem(self.loaded.file, line, dotted((*path, key)), message))

    @staticmethod
    def _guess(key: str, fields: Mapping[str, Field]) -> str | None:
        if key in RENAMED and RENAMED[key] in fields:
            return RENAMED[key]
        close = difflib.get_close_matches(key, list(fields), n=1, cutoff=0.6)
        return close[0] if close else None

    def value(self, value: Any, spec: Field, path: KeyPath) -> None:
        if not _type_ok(value, spec.types):
            self.add(path, f"is {value!r}: it must be {spec.expected}")
            return
        if spec.check is not None:
            problem = spec.check(value)
            if problem:
                self.add(path, problem)
                return
        if isinstance(value, dict):
            if spec.fields is not None:
                self.mapping(value, spec.fields, path)
            else:
                for key, item in value.items():
                    if spec.keys is not None:
                        problem = spec.keys(key)
                        if problem:
                            self.add((*path, key), problem)
                            continue
                    if spec.values is not None:
                        self.value(item, spec.values, (*path, key))
        elif isinstance(value, list) and spec.values is not None:
            for index, item in enumerate(value):
                self.value(item, spec.values, (*path, index))


def check_definition(loaded: LoadedYaml, kind: str) -> list[Problem]:
    """Every schema problem in a component's ``definition.yml``.

    Args:
        loaded: the parsed file with its key lines.
        kind: ``task``, ``workflow``, ``feeder`` or ``function``.
    """
    checker = _Checker(loaded)
    data = loaded.data
    if not isinstance(data, dict):
        shown = "empty" if data is None else f"a {type(data).__name__}"
        checker.add((), f"is {shown}: it must be a mapping with at least `description`")
        return checker.problems
    checker.mapping(data, schema_for(kind), ())
    if kind == "task":
        _task_rules(data, checker)
    elif kind in ("feeder", "function"):
        section = data.get("lambda")
        if isinstance(section, dict):
            _lambda_rules(section, checker)
    return checker.problems


def _enabled(section: Any) -> bool:
    return isinstance(section, dict) and section.get("enabled", True) is not False


def _task_rules(data: dict[str, Any], checker: _Checker) -> None:
    lam, batch = data.get("lambda"), data.get("batch")
    if "lambda" not in data and "batch" not in data:
        checker.add(
            (),
            "a task needs a `lambda` section, a `batch` section, or both "
            "(an empty mapping `lambda: {}` takes every default)",
        )
    elif not _enabled(lam) and not _enabled(batch) and data.get("enabled", True) is not False:
        checker.add((), "both `lambda` and `batch` are disabled: enable one or set enabled: false")
    if isinstance(lam, dict):
        _lambda_rules(lam, checker)
    if isinstance(batch, dict):
        _batch_rules(batch, checker)


def _lambda_rules(section: dict[str, Any], checker: _Checker) -> None:
    if "handler" in section and "image" in section:
        checker.add(("lambda", "image"), "give either `handler` (code) or `image`, not both")


def _batch_rules(section: dict[str, Any], checker: _Checker) -> None:
    path = ("batch",)
    if "resources" in section:
        kept = ("resources", "enabled", "environment", "retry", "timeout")
        clash = [key for key in BATCH_FIELDS if key in section and key not in kept]
        if clash:
            checker.add(
                (*path, "resources"),
                "replaces the generated job definition, queue and compute environment: "
                f"remove {', '.join(f'`{key}`' for key in clash)} or remove `resources`",
            )
        return
    if "job_queue" in section and "compute_environment" in section:
        checker.add(
            (*path, "compute_environment"),
            "give either `job_queue` (an existing queue) or `compute_environment` "
            "(one made for this task), not both",
        )
    compute = section.get("compute_environment", "fargate" if "job_queue" not in section else "")
    if isinstance(compute, str) and compute.startswith("fargate"):
        gpu = section.get("gpu", 0)
        if _type_ok(gpu, WHOLE) and gpu > 0:
            checker.add(
                (*path, "gpu"),
                f"Fargate has no GPUs: set compute_environment: ec2 (or ec2-spot), or gpu: 0 "
                f"(compute environment is {compute})",
            )
        vcpu = section.get("vcpu", 1)
        if _type_ok(vcpu, NUMBER) and vcpu not in FARGATE_VCPUS:
            allowed = ", ".join(str(v) for v in FARGATE_VCPUS)
            checker.add(
                (*path, "vcpu"),
                f"is {vcpu}; Fargate offers {allowed} vCPUs: pick one, "
                "or set compute_environment: ec2",
            )
