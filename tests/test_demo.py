"""``cirrus demo`` end to end, as a user runs it: a real process, real files, real checks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest

from cirrus.errors import ConfigError

pytest.importorskip("rasterio")
pytest.importorskip("rio_cogeo")

FIXTURES = Path(__file__).parent / "fixtures"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PAYLOAD_IDS = [
    "demo-scenes/workflow-cog-thumbnail/demo-scene-1",
    "demo-scenes/workflow-cog-thumbnail/demo-scene-2",
]


def _cirrus(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cirrus", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def demo_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """One demo run in the default folder, with settings in the environment it must ignore."""
    cwd = tmp_path_factory.mktemp("demo")
    elsewhere = cwd / "elsewhere"
    done = _cirrus(
        "demo",
        cwd=cwd,
        env={
            "CIRRUS_DATA_ROOT": str(elsewhere / "data"),
            "CIRRUS_STATE_DB": str(elsewhere / "state.db"),
            "CIRRUS_PAYLOAD_ROOT": str(elsewhere / "payloads"),
        },
    )
    assert not elsewhere.exists()
    return cwd / "cirrus-demo", done


@pytest.fixture(scope="module")
def summary(demo_run: tuple[Path, subprocess.CompletedProcess[str]]) -> dict[str, Any]:
    _, done = demo_run
    assert done.returncode == 0, done.stderr
    loaded: dict[str, Any] = json.loads(done.stdout)
    return loaded


def test_demo_succeeds_and_says_where_the_results_are(
    demo_run: tuple[Path, subprocess.CompletedProcess[str]], summary: dict[str, Any]
) -> None:
    folder, done = demo_run
    assert summary["ok"] is True
    assert summary["folder"] == str(folder.resolve())
    assert summary["catalog"] == str(folder.resolve() / "catalog" / "catalog.json")
    assert summary["states"] == {"SUCCEEDED": 2}
    assert summary["payload_ids"] == PAYLOAD_IDS
    assert summary["validation"]["problems"] == []
    assert "offline" in summary["validation"]["schemas"]
    # the human summary names the catalog, the COGs, the thumbnails and what to run next
    assert "cirrus-demo/catalog/catalog.json" in done.stderr
    assert "demo-scene-1-cog.tif" in done.stderr
    assert "demo-scene-1-thumbnail.png" in done.stderr
    assert f"cirrus get-state {PAYLOAD_IDS[0]}" in done.stderr
    assert "cirrus query" in done.stderr


def test_catalog_is_self_contained_and_valid(
    demo_run: tuple[Path, subprocess.CompletedProcess[str]], summary: dict[str, Any]
) -> None:
    import pystac
    from pystac.validation import validate_dict

    folder, _ = demo_run
    catalog_file = folder / "catalog" / "catalog.json"
    catalog = pystac.Catalog.from_file(str(catalog_file))
    [collection] = catalog.get_children()
    assert isinstance(collection, pystac.Collection)
    assert collection.id == "demo-scenes"
    items = sorted(collection.get_items(), key=lambda item: item.id)
    assert [item.id for item in items] == ["demo-scene-1", "demo-scene-2"]
    for path in catalog_file.parent.rglob("*.json"):
        document = json.loads(path.read_text())
        validate_dict(document, extensions=[])  # core schemas, bundled with pystac
        for link in document["links"]:
            assert not link["href"].startswith("/"), (path, link)
            assert "://" not in link["href"], (path, link)
        for asset in document.get("assets", {}).values():
            assert asset["href"].startswith("./"), (path, asset)
            assert (path.parent / asset["href"]).is_file()
    assert [item["id"] for item in summary["items"]] == ["demo-scene-1", "demo-scene-2"]


def test_each_item_has_a_valid_cog_and_a_png_thumbnail(
    demo_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    import pystac
    import rasterio
    from rio_cogeo.cogeo import cog_validate

    folder, _ = demo_run
    catalog = pystac.Catalog.from_file(str(folder / "catalog" / "catalog.json"))
    for item in catalog.get_items(recursive=True):
        cog = Path(item.assets["cog"].get_absolute_href() or "")
        assert cog.parent == folder / "catalog" / "demo-scenes" / item.id
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PendingDeprecationWarning)  # rasterio + affine 3.1
            valid, errors, _ = cog_validate(str(cog), quiet=True)
            assert valid, errors
            with rasterio.open(cog) as dataset:
                assert dataset.crs.to_epsg() == 32617
                assert dataset.count == 3
                assert dataset.overviews(1)
        thumbnail = item.assets["thumbnail"]
        assert thumbnail.roles == ["thumbnail"]
        header = Path(thumbnail.get_absolute_href() or "").read_bytes()[:24]
        assert header[:8] == PNG_SIGNATURE
        assert int.from_bytes(header[16:20], "big") == 128  # width: the payload's size


def test_state_records_all_succeeded(
    demo_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    from cirrus.state import State, open_state_db

    folder, _ = demo_run
    with open_state_db(str(folder / ".cirrus" / "state.db")) as db:
        records = db.query(workflow="cog-thumbnail").records
    assert sorted(record.payload_id for record in records) == PAYLOAD_IDS
    assert {record.state for record in records} == {State.SUCCEEDED}
    assert all(record.output_url for record in records)


def test_the_demo_folder_is_a_project_the_commands_work_in(
    demo_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    folder, _ = demo_run
    done = _cirrus("get-state", PAYLOAD_IDS[0], cwd=folder)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["state"] == "SUCCEEDED"


def test_running_the_demo_again_replaces_the_earlier_one(
    demo_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    folder, _ = demo_run
    (folder / "leftover.txt").write_text("from the last run")
    done = _cirrus("demo", str(folder), cwd=folder.parent)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["ok"] is True
    assert not (folder / "leftover.txt").exists()
    assert (folder / "catalog" / "catalog.json").is_file()


def test_a_non_empty_folder_not_made_by_the_demo_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    done = _cirrus("demo", str(tmp_path), cwd=tmp_path.parent)
    assert done.returncode == 1
    assert "not made by cirrus demo" in done.stderr
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_a_folder_not_made_by_the_demo_is_never_wiped(tmp_path: Path) -> None:
    from cirrus.demo.run import prepare_folder

    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not made by cirrus demo"):
        prepare_folder(tmp_path, force=True)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_force_replaces_an_earlier_demo(tmp_path: Path) -> None:
    from cirrus.demo.run import MARKER, prepare_folder

    prepare_folder(tmp_path)
    assert (tmp_path / MARKER).is_file()
    (tmp_path / "leftover.txt").write_text("from the last run")
    prepare_folder(tmp_path, force=True)
    assert not (tmp_path / "leftover.txt").exists()
    assert (tmp_path / "cirrus.yml").is_file()
    assert (tmp_path / "tasks" / "make-cog" / "src" / "task" / "task.py").is_file()
    assert not list(tmp_path.rglob("__pycache__"))


def test_a_failing_payload_fails_the_demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    from click.testing import CliRunner

    from cirrus.cli.main import cli
    from cirrus.demo import run

    # a copy of the demo project whose thumbnail step breaks on the second scene
    source = tmp_path / "source"
    shutil.copytree(run.project_source(), source)  # type: ignore[arg-type]
    task = source / "tasks" / "make-thumbnail" / "src" / "task" / "task.py"
    task.rename(task.with_name("demo_task.py"))
    shutil.copyfile(FIXTURES / "tasks" / "thumbnail_fails_on_scene_2.py", task)
    monkeypatch.setattr(run, "project_source", lambda: source)

    done = CliRunner().invoke(cli, ["demo", str(tmp_path / "demo")])
    assert done.exit_code == 1, done.output
    summary = json.loads(done.stdout)
    assert summary["ok"] is False
    assert summary["states"] == {"FAILED": 1, "SUCCEEDED": 1}
    assert [item["id"] for item in summary["items"]] == ["demo-scene-1"]
    problems = "\n".join(summary["validation"]["problems"])
    assert f"payload {PAYLOAD_IDS[1]} is FAILED" in problems
    assert "no thumbnail today" in problems
    assert "expected 2 published item(s), found 1" in problems
    assert "Demo finished with problems" in done.stderr
