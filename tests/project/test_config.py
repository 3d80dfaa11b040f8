"""cirrus.yml settings, defaults and environment overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from cirrus.errors import ConfigError
from cirrus.project import ProjectConfig
from cirrus.project.config import config_problems


def _project(tmp_path: Path, text: str) -> Path:
    (tmp_path / "cirrus.yml").write_text(text)
    return tmp_path


def test_defaults_live_under_dot_cirrus(tmp_path: Path) -> None:
    config = ProjectConfig.load(_project(tmp_path, "name: demo\n"), env={})
    root = tmp_path.resolve()
    assert config.name == "demo"
    assert config.state_db == str(root / ".cirrus/state.db")
    assert config.payload_root == f"sqlite://{root}/.cirrus/payloads.db"
    assert config.data_root == str(root / ".cirrus/data")
    assert config.publish_log == str(root / ".cirrus/published.ndjson")
    assert config.publish_webhook is None
    assert (config.workers, config.lease_seconds, config.url_payload_threshold) == (4, 900, 120_000)


def test_file_values_resolve_against_the_root_and_keep_urls(tmp_path: Path) -> None:
    text = "data_root: out/data\npayload_root: s3://bucket/prefix\nworkers: 2\n"
    config = ProjectConfig.load(_project(tmp_path, text), env={})
    assert config.data_root == str(tmp_path.resolve() / "out/data")
    assert config.payload_root == "s3://bucket/prefix"
    assert config.workers == 2


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    env = {"CIRRUS_STATE_DB": "/tmp/x.db", "CIRRUS_WORKERS": "8", "CIRRUS_DATA_BUCKET": "data"}
    config = ProjectConfig.load(_project(tmp_path, "workers: 2\n"), env=env)
    assert config.state_db == "/tmp/x.db"
    assert config.workers == 8
    assert config.data_root == "s3://data"


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("sqlite://store/p.db", "sqlite://{root}/store/p.db"),
        ("sqlite:///abs/p.db", "sqlite:///abs/p.db"),
        ("payloads", "{root}/payloads"),
    ],
)
def test_a_relative_payload_store_belongs_to_the_project(
    tmp_path: Path, written: str, expected: str
) -> None:
    config = ProjectConfig.load(_project(tmp_path, f"payload_root: {written}\n"), env={})
    assert config.payload_root == expected.format(root=tmp_path.resolve())


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        pytest.param("SQLITE://state.db", "sqlite://{root}/state.db", id="scheme-any-case"),
        pytest.param("state.sqlite3", "{root}/state.sqlite3", id="plain-path"),
        pytest.param("memory", "memory", id="alias"),
        pytest.param("mypackage.backends:MyStateDB", "mypackage.backends:MyStateDB", id="class"),
    ],
)
def test_backend_urls_are_paths_only_when_they_are_paths(
    tmp_path: Path, written: str, expected: str
) -> None:
    config = ProjectConfig.load(_project(tmp_path, f"state_db: {written}\n"), env={})
    assert config.state_db == expected.format(root=tmp_path.resolve())


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        pytest.param({"CIRRUS_PAYLOAD_BUCKET": "b"}, "s3://b/cirrus", id="default-prefix"),
        pytest.param(
            {"CIRRUS_PAYLOAD_BUCKET": "b", "CIRRUS_PAYLOAD_ROOT_PREFIX": "p/q"},
            "s3://b/p/q",
            id="prefix",
        ),
        pytest.param(
            {"CIRRUS_PAYLOAD_BUCKET": "b", "CIRRUS_PAYLOAD_ROOT": "s3://c/d"},
            "s3://c/d",
            id="root-wins",
        ),
    ],
)
def test_payload_bucket(tmp_path: Path, env: dict[str, str], expected: str) -> None:
    assert ProjectConfig.embedded(tmp_path, env=env).payload_root == expected


def test_unknown_key_names_file_line_and_key(tmp_path: Path) -> None:
    root = _project(tmp_path, "name: demo\nworkrs: 3\n")
    with pytest.raises(ConfigError) as caught:
        ProjectConfig.load(root, env={})
    message = str(caught.value)
    assert f"{root / 'cirrus.yml'}:2: workrs" in message
    assert "`workers`" in message


def test_every_problem_is_listed(tmp_path: Path) -> None:
    root = _project(tmp_path, "name: 9lives\nworkers: many\nlease_seconds: -1\n")
    problems = config_problems(root, env={"CIRRUS_WORKERS": "x"})
    assert [(p.line, p.field) for p in problems] == [
        (1, "name"),
        (2, "workers"),
        (3, "lease_seconds"),
        (None, ""),
    ]
    assert "CIRRUS_WORKERS" in str(problems[-1])


def test_embedded_uses_the_folder(tmp_path: Path) -> None:
    config = ProjectConfig.embedded(tmp_path / "My Project", env={})
    assert config.name == "My-Project"
    assert config.state_db.endswith("My Project/.cirrus/state.db")
    assert config.source is None


def test_a_project_with_payloads_as_files_keeps_its_folder(tmp_path: Path) -> None:
    root = _project(tmp_path, "name: older\n").resolve()
    (root / ".cirrus" / "payloads" / "executions").mkdir(parents=True)
    assert ProjectConfig.load(root, env={}).payload_root == str(root / ".cirrus" / "payloads")
    (root / ".cirrus" / "payloads.db").touch()  # once the store exists, it is the default
    assert ProjectConfig.load(root, env={}).payload_root.endswith("/.cirrus/payloads.db")


ARN = "arn:aws:sns:us-west-2:123456789012:cirrus-publish"


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        pytest.param(ARN, ARN, id="arn"),
        pytest.param(f"sns://{ARN}", ARN, id="sns-url-of-an-arn"),
        pytest.param("SNS://cirrus-publish", "sns://cirrus-publish", id="sns-url-of-a-name"),
        pytest.param("null", None, id="off"),
    ],
)
def test_topics_are_arns_or_sns_urls(tmp_path: Path, written: str, expected: str | None) -> None:
    text = f"publish_topic: {written}\nworkflow_event_topic: {written}\n"
    config = ProjectConfig.load(_project(tmp_path, text), env={})
    assert (config.publish_topic, config.workflow_event_topic) == (expected, expected)


def test_topics_come_from_upstreams_environment_variables(tmp_path: Path) -> None:
    events = ARN.replace("publish", "workflow-event")
    env = {"CIRRUS_PUBLISH_TOPIC_ARN": ARN, "CIRRUS_WORKFLOW_EVENT_TOPIC_ARN": events}
    config = ProjectConfig.load(_project(tmp_path, "publish_topic: sns://other\n"), env=env)
    assert (config.publish_topic, config.workflow_event_topic) == (ARN, events)


@pytest.mark.parametrize(
    "written",
    [
        pytest.param("https://sns.us-east-1.amazonaws.com/x", id="url"),
        pytest.param("arn:aws:sqs:us-east-1:123456789012:q", id="queue-arn"),
        pytest.param(f"{ARN}.fifo", id="fifo"),
        pytest.param("sns://", id="no-name"),
        pytest.param("12", id="number"),
    ],
)
def test_a_topic_that_is_not_one_names_file_line_and_forms(tmp_path: Path, written: str) -> None:
    root = _project(tmp_path, f"name: demo\nworkflow_event_topic: {written}\n")
    problems = config_problems(root, env={"CIRRUS_PUBLISH_TOPIC_ARN": "my-topic"})
    assert [(p.line, p.field) for p in problems] == [(2, "workflow_event_topic"), (None, "")]
    assert "sns://<name or ARN>" in str(problems[0])
    assert "CIRRUS_PUBLISH_TOPIC_ARN" in str(problems[1])


def test_intake_limits_and_allowed_roots_are_settings(tmp_path: Path) -> None:
    text = (
        "max_receives: 3\nmax_payload_bytes: 1000\nmax_payload_depth: 20\nmax_features: 10\n"
        "max_id_bytes: 64\nreference_max_bytes: 500\nreference_timeout_seconds: 5\n"
        "allowed_roots: [catalog, s3://bucket/public]\n"
    )
    config = ProjectConfig.load(_project(tmp_path, text), env={})
    assert (config.max_receives, config.max_payload_bytes, config.max_payload_depth) == (
        3,
        1000,
        20,
    )
    assert (config.max_features, config.max_id_bytes) == (10, 64)
    assert (config.reference_max_bytes, config.reference_timeout_seconds) == (500, 5)
    assert config.allowed_roots == (str(tmp_path.resolve() / "catalog"), "s3://bucket/public")


def test_allowed_roots_from_the_environment_are_comma_separated(tmp_path: Path) -> None:
    env = {"CIRRUS_ALLOWED_ROOTS": "s3://a/x, /srv/catalog", "CIRRUS_MAX_RECEIVES": "9"}
    config = ProjectConfig.load(_project(tmp_path, "name: demo\n"), env=env)
    assert config.allowed_roots == ("s3://a/x", "/srv/catalog")
    assert config.max_receives == 9


@pytest.mark.parametrize("line", ["max_receives: 0", "max_payload_depth: deep", "allowed_roots: 5"])
def test_a_bad_limit_is_a_problem_naming_the_key(tmp_path: Path, line: str) -> None:
    problems = config_problems(_project(tmp_path, line + "\n"), env={})
    assert [problem.field for problem in problems] == [line.split(":")[0]]
