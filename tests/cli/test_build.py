"""``cirrus build``: a summary as JSON on stdout, problems on stderr with their lines."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from cirrus.cli.main import cli

FIXTURES = Path(__file__).parents[1] / "fixtures" / "projects"


def test_build_writes_the_stack_and_prints_where(tmp_path: Path) -> None:
    root = tmp_path / "small"
    shutil.copytree(FIXTURES / "small", root)
    result = CliRunner().invoke(cli, ["build", "--no-deps", "--project", str(root)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["deployment"] == "default"
    assert summary["prefix"] == "small"
    assert Path(summary["template"]) == root / ".cirrus/build/aws/template.json"
    assert set(summary["zips"]) == {"code"}
    assert Path(summary["zips"]["code"]).is_file()
    assert summary["parameters"] == {
        "ArtifactBucket": "The bucket the build's zips were uploaded to (by `cirrus deploy`)"
    }
    assert "built deployment default (prefix small)" in result.stderr


def test_build_names_what_stops_it(tmp_path: Path) -> None:
    root = tmp_path / "small"
    shutil.copytree(FIXTURES / "small", root)
    definition = root / "workflows/hello/definition.yml"
    definition.write_text(
        definition.read_text().replace("cirrus:lambda:hello", "cirrus:batch:hello")
    )
    result = CliRunner().invoke(cli, ["build", "--no-deps", "--project", str(root)])
    assert result.exit_code == 1
    assert "workflows/hello/definition.yml:7: definition.States.hello.Resource" in result.stderr
    missing = CliRunner().invoke(cli, ["build", "prod", "--no-deps", "--project", str(root)])
    assert missing.exit_code == 1
    assert "deployment `prod` is not in" in missing.stderr
