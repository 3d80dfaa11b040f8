"""Deployment settings: the ``deployments:`` section of ``cirrus.yml``.

A project may name several deployments (dev, prod, ...); each builds into its own AWS
stack. Every key is optional, and a project without the section builds the deployment
``default``::

    deployments:
      dev:
        prefix: demo-dev              # resource names start with it (default: <project>-<name>;
                                      # the `default` deployment: <project>)
        region: us-west-2             # where `cirrus deploy` puts the stack (default: boto3's)
        log_level: INFO               # CIRRUS_LOG_LEVEL of every function
        log_retention_days: 30        # of every log group
        payload_root_prefix: cirrus   # payloads go under s3://<payload bucket>/<this>/
        image_tag: latest             # tag of the images pushed to the stack's repositories
        process_concurrency: 16       # reserved for the process function (null: none)
        memory:                       # MB, by function: process, update-state, pre-batch,
          process: 512                # post-batch, or a task (wins over its definition.yml)
        timeout:                      # seconds, by function (process: at most 120)
          update-state: 60
        batch:                        # where generated compute environments run
          subnets: [subnet-0abc, subnet-0def]
          security_groups: [sg-0123]

Problems come as :class:`~cirrus.project.problems.Problem` entries with file, line and
key, like every other setting; :func:`load_deployment` raises them together.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from cirrus.errors import ConfigError
from cirrus.project.config import CONFIG_FILE
from cirrus.project.problems import Problem, raise_for_problems
from cirrus.project.yamlfile import KeyPath, LoadedYaml, dotted, load_yaml

__all__ = [
    "DEFAULT_DEPLOYMENT",
    "DEPLOYMENTS_KEY",
    "LOG_RETENTION_DAYS",
    "DeploymentSettings",
    "deployment_names",
    "deployment_problems",
    "load_deployment",
]

DEPLOYMENTS_KEY = "deployments"
DEFAULT_DEPLOYMENT = "default"
"""The deployment built when none is named and ``cirrus.yml`` names none (or one by this name)."""
MAX_PREFIX = 40
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827)
"""The retention periods CloudWatch Logs accepts (days)."""
PROCESS_MAX_TIMEOUT = 120
"""The process function must end before its claim (120 s) and the queue's visibility (180 s)."""
_PREFIX = re.compile(r"[A-Za-z][A-Za-z0-9-]*")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d")


@dataclass(frozen=True)
class DeploymentSettings:
    """One deployment of a project.

    Attributes:
        name: the deployment's name (a key of ``deployments:``, or ``default``).
        prefix: start of every resource name (``<prefix>-process``, ``<prefix>-<workflow>``).
        region: the AWS region to deploy to, or ``None`` for boto3's default.
        log_level: ``CIRRUS_LOG_LEVEL`` of the functions.
        log_retention_days: retention of every log group.
        payload_root_prefix: payloads are kept under this prefix of the payload bucket.
        image_tag: tag of task images in the stack's ECR repositories.
        process_concurrency: reserved concurrency of the process function (``None``:
            unreserved, for accounts whose concurrency limit is too low to reserve any).
        memory: MB by function name (built-in functions or tasks).
        timeout: seconds by function name.
        batch_subnets: subnets of generated Batch compute environments (none: the stack
            makes a small VPC).
        batch_security_groups: their security groups.
        source: the ``cirrus.yml`` the settings come from (``None``: defaults only).
    """

    name: str
    prefix: str
    region: str | None = None
    log_level: str = "INFO"
    log_retention_days: int = 30
    payload_root_prefix: str = "cirrus"
    image_tag: str = "latest"
    process_concurrency: int | None = 16
    memory: Mapping[str, int] = field(default_factory=dict)
    timeout: Mapping[str, int] = field(default_factory=dict)
    batch_subnets: tuple[str, ...] = ()
    batch_security_groups: tuple[str, ...] = ()
    source: Path | None = None

    @classmethod
    def defaults(cls, project_name: str, name: str = DEFAULT_DEPLOYMENT) -> DeploymentSettings:
        """A deployment with every default: prefix ``<project>`` (``<project>-<name>``)."""
        prefix = project_name if name == DEFAULT_DEPLOYMENT else f"{project_name}-{name}"
        return cls(name=name, prefix=prefix)


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError
    return value


def _prefix(value: Any) -> str:
    text = _text(value)
    if len(text) > MAX_PREFIX or not _PREFIX.fullmatch(text):
        raise ValueError
    return text


def _region(value: Any) -> str:
    text = _text(value)
    if not _REGION.fullmatch(text):
        raise ValueError
    return text


def _log_level(value: Any) -> str:
    text = _text(value).upper()
    if text not in LOG_LEVELS:
        raise ValueError
    return text


def _retention(value: Any) -> int:
    if isinstance(value, bool) or value not in LOG_RETENTION_DAYS:
        raise ValueError
    return int(value)


def _payload_prefix(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError
    return value.strip("/")


def _concurrency(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1000:
        raise ValueError
    return value


def _tag(value: Any) -> str:
    text = _text(value)
    if not _TAG.fullmatch(text):
        raise ValueError
    return text


_FIELDS: dict[str, tuple[Callable[[Any], Any], str]] = {
    "prefix": (
        _prefix,
        f"a name of letters, digits and hyphens, starting with a letter, at most {MAX_PREFIX} "
        "characters",
    ),
    "region": (_region, "an AWS region such as us-west-2"),
    "log_level": (_log_level, f"one of {', '.join(LOG_LEVELS)}"),
    "log_retention_days": (
        _retention,
        f"a retention CloudWatch Logs accepts: {', '.join(map(str, LOG_RETENTION_DAYS))}",
    ),
    "payload_root_prefix": (_payload_prefix, "a key prefix such as cirrus"),
    "image_tag": (_tag, "an image tag such as latest or v1.2.0"),
    "process_concurrency": (_concurrency, "a whole number 1..1000, or null for none reserved"),
}
_MAPPINGS = ("memory", "timeout")
_BATCH_FIELDS = ("subnets", "security_groups")
_KNOWN = (*_FIELDS, *_MAPPINGS, "batch")


def deployment_names(root: Path) -> list[str]:
    """The deployments ``root/cirrus.yml`` names (empty when it names none)."""
    loaded, _ = load_yaml(root / CONFIG_FILE)
    section = _section(loaded)
    return [str(name) for name in section] if isinstance(section, dict) else []


def deployment_problems(root: Path, project_name: str = "project") -> list[Problem]:
    """Every problem in the ``deployments:`` section of ``root/cirrus.yml``, without raising."""
    loaded, _ = load_yaml(root / CONFIG_FILE)
    if loaded is None:
        return []  # an unreadable cirrus.yml is reported by the settings
    section = _section(loaded)
    if section is None:
        return []
    if not isinstance(section, dict):
        line = loaded.line((DEPLOYMENTS_KEY,))
        message = "must be a mapping of deployment names to their settings"
        return [Problem(loaded.file, line, DEPLOYMENTS_KEY, message)]
    problems: list[Problem] = []
    for name, data in section.items():
        problems += _parse(loaded, str(name), data, project_name)[1]
    return problems


def load_deployment(root: Path, project_name: str, name: str | None = None) -> DeploymentSettings:
    """The settings of deployment ``name`` of the project in ``root``.

    Without a name: the deployment called ``default``, else the only one ``cirrus.yml``
    names, else (none named) the defaults.

    Raises:
        ConfigError: the deployment is not in ``cirrus.yml``, none was named among
            several, or its settings have problems (each with file, line and key).
    """
    file = root / CONFIG_FILE
    loaded, problems = load_yaml(file)
    raise_for_problems(problems, str(file))
    section = _section(loaded)
    if section is not None and not isinstance(section, dict):
        raise_for_problems(deployment_problems(root, project_name), str(file))
    names = [str(key) for key in section] if isinstance(section, dict) else []
    if name is None:
        if DEFAULT_DEPLOYMENT in names or not names:
            name = DEFAULT_DEPLOYMENT
        elif len(names) == 1:
            name = names[0]
        else:
            raise ConfigError(
                f"{file} names several deployments ({', '.join(names)}): say which to build, "
                f"or call one `{DEFAULT_DEPLOYMENT}`"
            )
    if name not in names:
        if name == DEFAULT_DEPLOYMENT:
            return DeploymentSettings.defaults(project_name)
        known = ", ".join(names) or "none"
        raise ConfigError(
            f"deployment `{name}` is not in {file} (deployments named there: {known}): "
            f"add it under `{DEPLOYMENTS_KEY}:`"
        )
    assert loaded is not None and isinstance(section, dict)
    data = next(value for key, value in section.items() if str(key) == name)
    settings, problems = _parse(loaded, name, data, project_name)
    raise_for_problems(problems, f"deployment `{name}` in {file}")
    return settings


def _section(loaded: LoadedYaml | None) -> Any:
    data = loaded.data if loaded is not None else None
    return data.get(DEPLOYMENTS_KEY) if isinstance(data, dict) else None


def _parse(
    loaded: LoadedYaml, name: str, data: Any, project_name: str
) -> tuple[DeploymentSettings, list[Problem]]:
    base: KeyPath = (DEPLOYMENTS_KEY, name)
    settings = DeploymentSettings.defaults(project_name, name)
    problems: list[Problem] = []

    def problem(path: KeyPath, message: str) -> None:
        full = (*base, *path)
        problems.append(Problem(loaded.file, loaded.line(full), dotted(full), message))

    if not _PREFIX.fullmatch(name):
        problem((), "a deployment name holds letters, digits and hyphens, starting with a letter")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        problem((), "must be a mapping of settings (prefix, region, memory, ...)")
        return settings, problems
    changes: dict[str, Any] = {"source": loaded.file}
    for key, value in data.items():
        if key in _FIELDS:
            parse, expected = _FIELDS[key]
            try:
                changes[key] = parse(value)
            except (TypeError, ValueError):
                problem((key,), f"is {value!r}: it must be {expected}")
        elif key in _MAPPINGS:
            changes[key] = _sizes(value, key, problem)
        elif key == "batch":
            changes.update(_batch(value, problem))
        else:
            close = difflib.get_close_matches(str(key), _KNOWN, n=1)
            hint = f"did you mean `{close[0]}`?" if close else f"known keys: {', '.join(_KNOWN)}"
            problem((key,), f"is not a deployment setting: {hint}")
    result = replace(settings, **changes)
    process_timeout = result.timeout.get("process")
    if process_timeout is not None and process_timeout > PROCESS_MAX_TIMEOUT:
        problem(
            ("timeout", "process"),
            f"is {process_timeout} s: the process function must end within "
            f"{PROCESS_MAX_TIMEOUT} s (its claims last 120 s, the queue hides a message 180 s)",
        )
    return result, problems


def _sizes(value: Any, key: str, problem: Callable[[KeyPath, str], None]) -> dict[str, int]:
    low, high, unit = (128, 10_240, "MB") if key == "memory" else (1, 900, "s")
    if not isinstance(value, dict):
        problem((key,), f"must map function names to {unit}, e.g. `process: {low * 2}`")
        return {}
    sizes: dict[str, int] = {}
    for function, size in value.items():
        if isinstance(size, bool) or not isinstance(size, int) or not low <= size <= high:
            problem((key, function), f"is {size!r}: it must be a whole number {low}..{high} {unit}")
            continue
        sizes[str(function)] = size
    return sizes


def _batch(value: Any, problem: Callable[[KeyPath, str], None]) -> dict[str, Any]:
    if not isinstance(value, dict):
        problem(("batch",), "must be a mapping with `subnets` and `security_groups`")
        return {}
    found: dict[str, Any] = {}
    for key, items in value.items():
        if key not in _BATCH_FIELDS:
            problem(("batch", key), f"is not a batch setting; allowed: {', '.join(_BATCH_FIELDS)}")
            continue
        if not isinstance(items, list) or not items or not all(isinstance(i, str) for i in items):
            problem(("batch", key), f"is {items!r}: it must be a list of ids")
            continue
        found[f"batch_{key}"] = tuple(items)
    if ("subnets" in value) != ("security_groups" in value):
        problem(("batch",), "give both `subnets` and `security_groups`, or neither")
    return found
