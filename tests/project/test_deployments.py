"""The ``deployments:`` section of cirrus.yml: defaults, choices and problems with lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from cirrus.errors import ConfigError
from cirrus.project import Project, init_project, validate_project
from cirrus.project.config import ProjectConfig
from cirrus.project.deployments import (
    DeploymentSettings,
    deployment_names,
    deployment_problems,
    load_deployment,
)
from tests.project.conftest import write


def config(tmp_path: Path, text: str) -> Path:
    write(tmp_path / "cirrus.yml", f"name: demo\n{text}")
    return tmp_path


def test_without_the_section_the_default_deployment_has_every_default(tmp_path: Path) -> None:
    root = config(tmp_path, "")
    settings = load_deployment(root, "demo")
    assert settings == DeploymentSettings(name="default", prefix="demo")
    assert (settings.log_level, settings.payload_root_prefix, settings.region) == (
        "INFO",
        "cirrus",
        None,
    )
    assert settings.process_concurrency == 16
    assert deployment_names(root) == []


def test_a_named_deployment_is_read_with_its_settings(tmp_path: Path) -> None:
    root = config(
        tmp_path,
        "deployments:\n"
        "  dev: {}\n"
        "  prod:\n"
        "    prefix: demo-live\n"
        "    region: eu-west-1\n"
        "    log_level: warning\n"
        "    log_retention_days: 90\n"
        "    payload_root_prefix: /payloads/\n"
        "    process_concurrency: null\n"
        "    memory: {process: 512, make-cog: 3008}\n"
        "    timeout: {update-state: 300}\n"
        "    batch: {subnets: [subnet-1], security_groups: [sg-1]}\n",
    )
    assert deployment_names(root) == ["dev", "prod"]
    assert load_deployment(root, "demo", "dev").prefix == "demo-dev"
    prod = load_deployment(root, "demo", "prod")
    assert (prod.prefix, prod.region, prod.log_level) == ("demo-live", "eu-west-1", "WARNING")
    assert (prod.log_retention_days, prod.payload_root_prefix) == (90, "payloads")
    assert prod.process_concurrency is None
    assert dict(prod.memory) == {"process": 512, "make-cog": 3008}
    assert dict(prod.timeout) == {"update-state": 300}
    assert (prod.batch_subnets, prod.batch_security_groups) == (("subnet-1",), ("sg-1",))
    assert prod.source == root / "cirrus.yml"


def test_which_deployment_builds_when_none_is_named(tmp_path: Path) -> None:
    root = config(tmp_path, "deployments:\n  only: {}\n")
    assert load_deployment(root, "demo").name == "only"
    config(tmp_path, "deployments:\n  a: {}\n  default: {prefix: mine}\n")
    assert load_deployment(root, "demo").prefix == "mine"
    config(tmp_path, "deployments:\n  a: {}\n  b: {}\n")
    with pytest.raises(ConfigError, match=r"names several deployments \(a, b\): say which"):
        load_deployment(root, "demo")
    with pytest.raises(ConfigError, match=r"deployment `c` is not in .*named there: a, b"):
        load_deployment(root, "demo", "c")


def test_problems_name_file_line_and_key(tmp_path: Path) -> None:
    root = config(
        tmp_path,
        "deployments:\n"
        "  dev:\n"
        "    prefix: 9lives\n"
        "    regoin: us-east-1\n"
        "    memory: {process: 64}\n"
        "    timeout: {process: 600}\n"
        "    log_retention_days: 10\n"
        "    batch: {subnets: [subnet-1]}\n",
    )
    problems = [problem.format(root) for problem in deployment_problems(root)]
    assert problems == [
        "cirrus.yml:4: deployments.dev.prefix: is '9lives': it must be a name of letters, "
        "digits and hyphens, starting with a letter, at most 40 characters",
        "cirrus.yml:5: deployments.dev.regoin: is not a deployment setting: did you mean `region`?",
        "cirrus.yml:6: deployments.dev.memory.process: is 64: it must be a whole number "
        "128..10240 MB",
        "cirrus.yml:8: deployments.dev.log_retention_days: is 10: it must be a retention "
        "CloudWatch Logs accepts: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, "
        "731, 1096, 1827",
        "cirrus.yml:9: deployments.dev.batch: give both `subnets` and `security_groups`, or "
        "neither",
        "cirrus.yml:7: deployments.dev.timeout.process: is 600 s: the process function must end "
        "within 120 s (its claims last 120 s, the queue hides a message 180 s)",
    ]
    with pytest.raises(ConfigError, match=r"cirrus.yml:4: deployments.dev.prefix"):
        load_deployment(root, "demo", "dev")


def test_the_section_is_no_problem_for_the_settings_and_validate_reports_it(
    tmp_path: Path,
) -> None:
    root = init_project(tmp_path / "p")
    text = (root / "cirrus.yml").read_text()
    write(root / "cirrus.yml", text + "deployments:\n  dev:\n    prefix: ok\n    colour: red\n")
    ProjectConfig.load(root)  # the runtime's settings do not mind the section
    [problem] = validate_project(Project(root))
    assert problem.field == "deployments.dev.colour"
