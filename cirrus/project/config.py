"""Project settings from ``cirrus.yml``, with environment variables on top.

Every setting has a default, so an empty ``cirrus.yml`` (or none, see
:meth:`ProjectConfig.embedded`) runs a project locally with everything under ``.cirrus/``::

    name: my-project
    state_db: .cirrus/state.db          # CIRRUS_STATE_DB
    payload_root: sqlite://.cirrus/payloads.db  # CIRRUS_PAYLOAD_ROOT, or CIRRUS_PAYLOAD_BUCKET
    data_root: .cirrus/data             # CIRRUS_DATA_ROOT, or CIRRUS_DATA_BUCKET
    publish_log: .cirrus/published.ndjson
    publish_webhook: null
    publish_topic: null                 # CIRRUS_PUBLISH_TOPIC_ARN: an SNS topic for items
    workflow_event_topic: null          # CIRRUS_WORKFLOW_EVENT_TOPIC_ARN: one for workflow events
    workers: 4
    lease_seconds: 900
    url_payload_threshold: 120000
    isolate_tasks: false                # CIRRUS_ISOLATE_TASKS: every task in a process of its own
    environment: {}                     # variables of every task (under each definition's own)
    max_receives: 5                     # deliveries before a message is dead-lettered
    max_payload_bytes: 134217728        # intake limits (see docs/reliability.md, "Limits")
    max_payload_depth: 100
    max_features: 100000
    max_id_bytes: 255
    reference_max_bytes: 134217728      # a {"url": ...} reference read at intake
    reference_timeout_seconds: 60
    allowed_roots: []                   # CIRRUS_ALLOWED_ROOTS (comma-separated): where an
                                        # absolute or URL path_template may write

Relative paths in ``cirrus.yml`` (also inside ``sqlite://``) are resolved against the
project root; relative paths in environment variables against the current directory. Other
values with a URL scheme (``s3://``, ``file:///``, ...) are kept as they are.

The embedded payload store is one SQLite file (a batch of payloads is one transaction, where
files would cost two folders and two files per payload); a folder such as
``.cirrus/payloads`` keeps every payload as a file instead.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from cirrus.project.names import MAX_PROJECT_NAME, check_name, project_name_for
from cirrus.project.problems import Problem, raise_for_problems
from cirrus.project.yamlfile import LoadedYaml, load_yaml

__all__ = ["CONFIG_FILE", "ProjectConfig", "config_problems", "parse_topic"]

CONFIG_FILE = "cirrus.yml"
_ALIASES = frozenset({"memory"})  # backend aliases (cirrus._backends), not paths
_CLASS_PATH = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*")  # package.module:Class
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_TOPIC_NAME = r"[A-Za-z0-9_-]{1,256}"
_TOPIC_ARN = re.compile(rf"arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{{12}}:{_TOPIC_NAME}")
_TOPIC_FORMS = (
    "an SNS standard topic ARN (arn:aws:sns:<region>:<account>:<name>) or "
    "sns://<name or ARN>, or null"
)


@dataclass(frozen=True)
class ProjectConfig:
    """Settings of one project; locations are absolute paths or URLs.

    Attributes:
        root: the project folder.
        name: project name; prefixes AWS resource names.
        state_db: state database location (a path for SQLite, or a URL).
        queue: work queue location (a path for SQLite, or a URL such as ``sqs://<name>``);
            "" puts a SQLite queue beside a SQLite state database.
        payload_root: where input/output payloads and url-passed payloads are stored.
        data_root: where output assets and items are stored.
        publish_log: NDJSON file every published item is appended to ("" turns it off).
        publish_webhook: URL that receives each published item by POST, or ``None``.
        publish_topic: SNS topic that receives each published item (an ARN, or
            ``sns://<name>``), or ``None``.
        workflow_event_topic: SNS topic that receives every workflow event (an ARN, or
            ``sns://<name>``), or ``None``.
        workers: number of payloads processed at once.
        lease_seconds: how long a claim on a payload lasts before another worker may take it.
        url_payload_threshold: payloads whose JSON is longer than this travel by ``url``.
        processes: worker processes draining the queue together (one per core helps
            CPU-bound tasks).
        keep_history: which executions keep their state history: all, failed, none.
        isolate_tasks: run every lambda-type task in a process of its own (by default only
            those with a timeout, a memory limit or an environment do).
        environment: variables set for every task, locally and on AWS (upstream's
            ``provider.environment``); a task's ``environment``, then its ``lambda`` or
            ``batch`` one, go on top.
        max_receives: deliveries of a queued payload before it moves to the dead letters.
        max_payload_bytes: largest payload accepted, in bytes of JSON.
        max_payload_depth: deepest nesting of objects and arrays accepted in a payload.
        max_features: most features accepted in one payload.
        max_id_bytes: longest item id, collection or workflow name accepted (UTF-8 bytes).
        reference_max_bytes: largest payload read through a ``{"url": ...}`` reference.
        reference_timeout_seconds: longest time reading a reference may take, in all.
        allowed_roots: roots an absolute or URL ``path_template`` may write under (the
            data root always may).
        source: the ``cirrus.yml`` these settings came from, ``None`` when embedded.
    """

    root: Path
    name: str
    state_db: str
    payload_root: str
    data_root: str
    publish_log: str
    publish_webhook: str | None = None
    publish_topic: str | None = None
    workflow_event_topic: str | None = None
    workers: int = 4
    lease_seconds: int = 900
    url_payload_threshold: int = 120_000
    processes: int = 1
    keep_history: str = "failed"
    isolate_tasks: bool = False
    environment: Mapping[str, str] = field(default_factory=dict)
    queue: str = ""
    max_receives: int = 5
    max_payload_bytes: int = 128 * 1024 * 1024
    max_payload_depth: int = 100
    max_features: int = 100_000
    max_id_bytes: int = 255
    reference_max_bytes: int = 128 * 1024 * 1024
    reference_timeout_seconds: int = 60
    allowed_roots: tuple[str, ...] = ()
    source: Path | None = None

    @classmethod
    def embedded(cls, root: Path | str, env: Mapping[str, str] | None = None) -> ProjectConfig:
        """Defaults for running without a ``cirrus.yml``: everything under ``root/.cirrus``.

        Environment variables still apply.

        Raises:
            ConfigError: an environment variable holds a value of the wrong type.
        """
        base = _defaults(Path(root).resolve())
        config, problems = _apply_env(base, os.environ if env is None else env)
        raise_for_problems(problems, "the environment")
        return config

    @classmethod
    def load(cls, root: Path | str, env: Mapping[str, str] | None = None) -> ProjectConfig:
        """Read ``root/cirrus.yml`` and apply environment overrides.

        Raises:
            ConfigError: listing every problem in the file (file, line, key) or environment.
        """
        root = Path(root).resolve()
        config, problems = _load(root, os.environ if env is None else env)
        raise_for_problems(problems, str(root / CONFIG_FILE))
        return config


def config_problems(root: Path, env: Mapping[str, str] | None = None) -> list[Problem]:
    """Every problem in ``root/cirrus.yml`` and the environment overrides, without raising."""
    return _load(root.resolve(), os.environ if env is None else env)[1]


def _default_payload_root(root: Path) -> str:
    """``.cirrus/payloads.db``; a project that already keeps its payloads as files in
    ``.cirrus/payloads/`` (made before the SQLite store) goes on with that folder."""
    folder, database = root / ".cirrus" / "payloads", root / ".cirrus" / "payloads.db"
    if folder.is_dir() and not database.exists():
        return str(folder)
    return f"sqlite://{database.as_posix()}"


def _defaults(root: Path) -> ProjectConfig:
    return ProjectConfig(
        root=root,
        name=project_name_for(root.name),
        state_db=str(root / ".cirrus" / "state.db"),
        payload_root=_default_payload_root(root),
        data_root=str(root / ".cirrus" / "data"),
        publish_log=str(root / ".cirrus" / "published.ndjson"),
    )


def _location(value: str, base: Path) -> str:
    """A setting's value with relative paths made absolute against the project root."""
    scheme = value[: len("sqlite://")].lower()
    if scheme == "sqlite://" and not value[len(scheme) :].startswith("/"):
        # a relative SQLite file, like a relative path, belongs to the project
        return "sqlite://" + _location(value[len(scheme) :], base)
    if not value or _URL.match(value) or value in _ALIASES or _CLASS_PATH.fullmatch(value):
        return value
    return str((base / Path(value).expanduser()).resolve())


def _resolved(value: str | tuple[str, ...], base: Path) -> str | tuple[str, ...]:
    """A location setting (or a list of them) made absolute against ``base``."""
    if isinstance(value, tuple):
        return tuple(_location(each, base) for each in value)
    return _location(value, base)


def _positive_int(value: Any) -> int:
    if isinstance(value, bool):
        raise TypeError
    number = int(value)
    if number <= 0 or (isinstance(value, float) and not value.is_integer()):
        raise ValueError
    return number


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError
    return value


def _history_choice(value: Any) -> str:
    if value not in ("all", "failed", "none"):
        raise ValueError
    return str(value)


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
        return value.strip().lower() in ("true", "1")
    raise ValueError


def _environment(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(key, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key) for key in value
    ):
        raise ValueError
    if any(isinstance(item, dict | list) for item in value.values()):
        raise ValueError
    return {
        key: ("true" if item else "false") if isinstance(item, bool) else str(item)
        for key, item in value.items()
    }


def _roots(value: Any) -> tuple[str, ...]:
    """A list of roots (a comma-separated string from the environment)."""
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",")]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TypeError
    return tuple(v for v in value if v)


def _optional_text(value: Any) -> str | None:
    return None if value is None or value == "" else _text(value)


def parse_topic(value: str) -> str:
    """The SNS topic a setting names: its ARN, or ``sns://<name>`` for a bare name.

    Accepts ``arn:aws:sns:<region>:<account>:<name>``, ``sns://<ARN>`` and
    ``sns://<name>`` (the ARN is then made from the account and region of the credentials).

    Raises:
        ValueError: the value is none of these, or names a FIFO topic (announcements carry
            no message group, as upstream's do not).
    """
    text = value.strip()
    if text[: len("sns://")].lower() == "sns://":
        text = text[len("sns://") :]
        if re.fullmatch(_TOPIC_NAME, text):
            return f"sns://{text}"
    if _TOPIC_ARN.fullmatch(text):
        return text
    raise ValueError(f"{value!r} is not {_TOPIC_FORMS}")


def _optional_topic(value: Any) -> str | None:
    text = _optional_text(value)
    return None if text is None else parse_topic(text)


# key -> (parser, is a location, what it must be)
_FIELDS: dict[str, tuple[Callable[[Any], Any], bool, str]] = {
    "name": (_text, False, "a name"),
    "state_db": (_text, True, "a path or URL"),
    "queue": (_text, True, "a path or URL (sqlite://..., sqs://<queue>), or empty"),
    "payload_root": (_text, True, "a path or URL"),
    "data_root": (_text, True, "a path or URL"),
    "publish_log": (_text, True, "a path, or an empty string to turn it off"),
    "publish_webhook": (_optional_text, False, "a URL or null"),
    "publish_topic": (_optional_topic, False, _TOPIC_FORMS),
    "workflow_event_topic": (_optional_topic, False, _TOPIC_FORMS),
    "workers": (_positive_int, False, "a positive whole number"),
    "lease_seconds": (_positive_int, False, "a positive whole number of seconds"),
    "url_payload_threshold": (_positive_int, False, "a positive whole number of characters"),
    "processes": (_positive_int, False, "a positive whole number of worker processes"),
    "keep_history": (_history_choice, False, "one of all, failed, none"),
    "isolate_tasks": (_flag, False, "true or false"),
    "environment": (
        _environment,
        False,
        "a mapping of variable names (letters, digits, _) to plain values",
    ),
    "max_receives": (_positive_int, False, "a positive whole number of deliveries"),
    "max_payload_bytes": (_positive_int, False, "a positive whole number of bytes"),
    "max_payload_depth": (_positive_int, False, "a positive whole number of levels"),
    "max_features": (_positive_int, False, "a positive whole number of features"),
    "max_id_bytes": (_positive_int, False, "a positive whole number of bytes"),
    "reference_max_bytes": (_positive_int, False, "a positive whole number of bytes"),
    "reference_timeout_seconds": (_positive_int, False, "a positive whole number of seconds"),
    "allowed_roots": (_roots, True, "a list of paths or URLs (s3://bucket/prefix, /data/...)"),
}

_SECTIONS = frozenset({"deployments"})
"""Sections other modules read (``deployments``: :mod:`cirrus.project.deployments`)."""

_ENV: dict[str, str] = {
    "CIRRUS_STATE_DB": "state_db",
    "CIRRUS_QUEUE": "queue",
    "CIRRUS_PAYLOAD_ROOT": "payload_root",
    "CIRRUS_DATA_ROOT": "data_root",
    "CIRRUS_PUBLISH_LOG": "publish_log",
    "CIRRUS_PUBLISH_WEBHOOK": "publish_webhook",
    "CIRRUS_PUBLISH_TOPIC_ARN": "publish_topic",
    "CIRRUS_WORKFLOW_EVENT_TOPIC_ARN": "workflow_event_topic",
    "CIRRUS_WORKERS": "workers",
    "CIRRUS_LEASE_SECONDS": "lease_seconds",
    "CIRRUS_URL_PAYLOAD_THRESHOLD": "url_payload_threshold",
    "CIRRUS_PROCESSES": "processes",
    "CIRRUS_KEEP_HISTORY": "keep_history",
    "CIRRUS_ISOLATE_TASKS": "isolate_tasks",
    "CIRRUS_MAX_RECEIVES": "max_receives",
    "CIRRUS_MAX_PAYLOAD_BYTES": "max_payload_bytes",
    "CIRRUS_MAX_PAYLOAD_DEPTH": "max_payload_depth",
    "CIRRUS_MAX_FEATURES": "max_features",
    "CIRRUS_MAX_ID_BYTES": "max_id_bytes",
    "CIRRUS_REFERENCE_MAX_BYTES": "reference_max_bytes",
    "CIRRUS_REFERENCE_TIMEOUT_SECONDS": "reference_timeout_seconds",
    "CIRRUS_ALLOWED_ROOTS": "allowed_roots",
}


def _load(root: Path, env: Mapping[str, str]) -> tuple[ProjectConfig, list[Problem]]:
    file = root / CONFIG_FILE
    config = replace(_defaults(root), source=file)
    loaded, problems = load_yaml(file)
    if loaded is not None:
        config, more = _apply_file(config, loaded)
        problems += more
    config, more = _apply_env(config, env)
    return config, problems + more


def _apply_file(config: ProjectConfig, loaded: LoadedYaml) -> tuple[ProjectConfig, list[Problem]]:
    data = loaded.data
    file = loaded.file
    if data is None:
        return config, []
    if not isinstance(data, dict):
        return config, [Problem(file, 1, "", "must be a mapping of settings (key: value)")]
    problems: list[Problem] = []
    changes: dict[str, Any] = {}
    for key, value in data.items():
        if key in _SECTIONS:
            continue
        line = loaded.line((key,))
        spec = _FIELDS.get(key) if isinstance(key, str) else None
        if spec is None:
            close = difflib.get_close_matches(str(key), list(_FIELDS), n=1)
            hint = f"did you mean `{close[0]}`?" if close else f"known keys: {', '.join(_FIELDS)}"
            problems.append(Problem(file, line, str(key), f"is not a cirrus.yml setting: {hint}"))
            continue
        parse, is_location, expected = spec
        try:
            parsed = parse(value)
        except (TypeError, ValueError):
            problems.append(Problem(file, line, key, f"is {value!r}: it must be {expected}"))
            continue
        if key == "name":
            reason = check_name(parsed, "project", MAX_PROJECT_NAME)
            if reason:
                problems.append(Problem(file, line, key, reason))
                continue
        changes[key] = _resolved(parsed, config.root) if is_location else parsed
    return replace(config, **changes), problems


def _apply_env(
    config: ProjectConfig, env: Mapping[str, str]
) -> tuple[ProjectConfig, list[Problem]]:
    problems: list[Problem] = []
    changes: dict[str, Any] = {}
    cwd = Path.cwd()
    for variable, key in _ENV.items():
        raw = env.get(variable)
        if raw is None or raw == "":
            continue
        parse, is_location, expected = _FIELDS[key]
        try:
            parsed = parse(raw)
        except (TypeError, ValueError):
            problems.append(
                Problem(Path(f"${variable}"), None, "", f"is {raw!r}: it must be {expected}")
            )
            continue
        changes[key] = _resolved(parsed, cwd) if is_location else parsed
    if "payload_root" not in changes and env.get("CIRRUS_PAYLOAD_BUCKET"):
        prefix = env.get("CIRRUS_PAYLOAD_ROOT_PREFIX", "cirrus").strip("/")
        bucket = env["CIRRUS_PAYLOAD_BUCKET"]
        changes["payload_root"] = f"s3://{bucket}/{prefix}" if prefix else f"s3://{bucket}"
    if "data_root" not in changes and env.get("CIRRUS_DATA_BUCKET"):
        changes["data_root"] = f"s3://{env['CIRRUS_DATA_BUCKET']}"
    return replace(config, **changes), problems
