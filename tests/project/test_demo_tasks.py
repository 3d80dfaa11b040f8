"""The demo project's tasks on the demo's generated data: real COGs, thumbnails, STAC."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from cirrus.project import Project, validate_project

pytest.importorskip("rasterio")
pytest.importorskip("rio_cogeo")

DEMO = Path(__file__).resolve().parents[2] / "cirrus" / "demo" / "project"


def _make_data() -> ModuleType:
    spec = importlib.util.spec_from_file_location("demo_make_data", DEMO / "make_data.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def demo() -> Project:
    return Project(DEMO)


@pytest.fixture
def payload(tmp_path: Path) -> dict[str, Any]:
    [file] = _make_data().make_inputs(tmp_path / "input", scenes=1)
    loaded: dict[str, Any] = json.loads(file.read_text())
    return loaded


def _validate_item(item: dict[str, Any]) -> None:
    from pystac.validation import validate_dict

    # Core schema only: pystac carries it locally, extension schemas would need the network.
    validate_dict(item, extensions=[])


def test_demo_project_is_valid(demo: Project) -> None:
    assert validate_project(demo) == []
    workflow = demo.workflows()["cog-thumbnail"].definition
    assert [state["Resource"] for state in workflow["States"].values()] == [
        "cirrus:lambda:make-cog",
        "cirrus:lambda:make-thumbnail",
        "cirrus:lambda:publish",
    ]


def test_input_is_deterministic_and_small(tmp_path: Path) -> None:
    make_data = _make_data()
    first = make_data.make_inputs(tmp_path / "a", scenes=2)
    second = make_data.make_inputs(tmp_path / "b", scenes=2)
    for a, b in zip(first, second, strict=True):
        tif_a, tif_b = a.with_suffix(".tif"), b.with_suffix(".tif")
        assert tif_a.read_bytes() == tif_b.read_bytes()
        assert tif_a.stat().st_size < 64_000
        item = json.loads(a.read_text())["features"][0]
        _validate_item(item)


def test_make_cog_then_thumbnail(demo: Project, payload: dict[str, Any], tmp_path: Path) -> None:
    import rasterio
    from rio_cogeo.cogeo import cog_validate

    data_root = tmp_path / "data"
    source = payload["features"][0]["assets"]["data"]["href"]

    make_cog = demo.tasks()["make-cog"].load_class()
    after_cog = make_cog.handler(payload, data_root=str(data_root))
    make_thumbnail = demo.tasks()["make-thumbnail"].load_class()
    output = make_thumbnail.handler(after_cog, data_root=str(data_root))

    [item] = output["features"]
    _validate_item(item)
    assets = item["assets"]
    assert assets["data"]["href"] == source

    cog = assets["cog"]
    expected = data_root / "demo-scenes" / "demo-scene-1" / "demo-scene-1-cog.tif"
    assert Path(cog["href"]) == expected
    assert cog["type"] == "image/tiff; application=geotiff; profile=cloud-optimized"
    assert cog["roles"] == ["data"]
    valid, errors, _ = cog_validate(cog["href"])
    assert valid, errors
    with rasterio.open(cog["href"]) as dataset, rasterio.open(source) as original:
        assert dataset.crs == original.crs
        assert dataset.transform == original.transform
        assert (dataset.read() == original.read()).all()  # lossless
        assert dataset.overviews(1)

    thumbnail = assets["thumbnail"]
    assert thumbnail["roles"] == ["thumbnail"]
    assert thumbnail["type"] == "image/png"
    png = Path(thumbnail["href"])
    assert png.parent == expected.parent
    header = png.read_bytes()[:26]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")
    assert (width, height) == (128, 128)
    assert header[25] == 2  # colour type 2: RGB


def test_make_cog_refuses_an_item_without_the_asset(
    demo: Project, payload: dict[str, Any], tmp_path: Path
) -> None:
    from cirrus.errors import InvalidInput

    payload["process"][0]["tasks"]["make-cog"] = {"asset": "missing"}
    with pytest.raises(InvalidInput, match="no asset 'missing'"):
        demo.tasks()["make-cog"].load_class().handler(payload, data_root=str(tmp_path))


def test_run_task_command_in_a_copy_of_the_demo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from click.testing import CliRunner

    from cirrus.cli.main import cli

    root = tmp_path / "demo"
    shutil.copytree(DEMO, root, ignore=shutil.ignore_patterns(".cirrus", "__pycache__"))
    monkeypatch.chdir(root)
    _make_data().make_inputs(root / ".cirrus" / "input", scenes=1)
    runner = CliRunner()
    first = runner.invoke(
        cli, ["run", "task", "make-cog", "tasks/make-cog/test-payload.json", "-o", "cog.json"]
    )
    assert first.exit_code == 0, first.output
    second = runner.invoke(cli, ["run", "task", "make-thumbnail", "cog.json"])
    assert second.exit_code == 0, second.output
    [item] = json.loads(second.stdout)["features"]
    assert set(item["assets"]) == {"data", "cog", "thumbnail"}
    folder = root / ".cirrus" / "data" / "demo-scenes" / "demo-scene-1"
    assert sorted(p.name for p in folder.iterdir()) == [
        "demo-scene-1-cog.tif",
        "demo-scene-1-thumbnail.png",
    ]


def test_make_cog_names_the_known_profiles(
    demo: Project, payload: dict[str, Any], tmp_path: Path
) -> None:
    from cirrus.errors import InvalidInput

    payload["process"][0]["tasks"]["make-cog"]["profile"] = "gif"
    with pytest.raises(InvalidInput, match=r"unknown profile 'gif'; known: .*deflate"):
        demo.tasks()["make-cog"].load_class().handler(payload, data_root=str(tmp_path))
