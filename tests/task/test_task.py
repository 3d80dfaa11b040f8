"""The Task base class keeps stactask's interface and adds storage that works anywhere."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cirrus.errors import FailedValidation
from cirrus.task import Task, resolve_task
from tests.task.conftest import make_payload

STACTASK_NAMES = [
    "name", "description", "version", "process", "validate", "items", "items_as_dicts",
    "parameters", "upload_options", "process_definition", "download_item_assets",
    "download_items_assets", "upload_item_assets_to_s3", "upload_local_item_assets_to_s3",
    "assign_collections", "add_software_version", "add_software_version_to_item", "handler",
    "cli", "workflow_options", "task_options", "collection_mapping", "cleanup_workdir",
    "create_item_from_item", "post_process_item",
]  # fmt: skip


@pytest.mark.parametrize("attribute", STACTASK_NAMES)
def test_stactask_names_exist(attribute: str) -> None:
    import stactask

    assert hasattr(stactask.Task, attribute)
    assert hasattr(Task, attribute)


class Recorder(Task):
    name = "recorder"
    seen: dict[str, Any] = {}

    def process(self, **kwargs: Any) -> list[dict[str, Any]]:
        Recorder.seen = {"kwargs": kwargs, "workdir": self._workdir}
        return self.items_as_dicts


def test_parameters_reach_process(scene: Path, tmp_path: Path) -> None:
    data = make_payload(
        scene, str(tmp_path), workflow_options={"a": 1, "b": 1}, tasks={"recorder": {"b": 2}}
    )
    Recorder.handler(data)
    assert Recorder.seen["kwargs"] == {"a": 1, "b": 2}


def test_temporary_workdir_is_removed_and_given_one_is_kept(scene: Path, tmp_path: Path) -> None:
    data = make_payload(scene, str(tmp_path))
    Recorder.handler(data)
    assert not Recorder.seen["workdir"].exists()
    Recorder.handler(data, workdir=tmp_path / "work")
    assert (tmp_path / "work").is_dir()


def test_handler_reads_and_writes_references(scene: Path, tmp_path: Path) -> None:
    source = tmp_path / "in.json"
    source.write_text(json.dumps(make_payload(scene, str(tmp_path))))
    full = Recorder.handler({"url": source.as_uri()})
    assert full["features"][0]["id"] == "S2B_17HQD_20201103_0_L2A"
    out = tmp_path / "in_out.json"
    reference = Recorder.handler({"url": str(source), "url_out": out.as_uri()})
    assert reference == {"url": out.as_uri()}
    assert json.loads(out.read_text())["features"] == full["features"]


class Picky(Task):
    name = "picky"

    def validate(self) -> bool:
        return False

    def process(self, **kwargs: Any) -> list[dict[str, Any]]:
        raise AssertionError("process must not run on a refused payload")


def test_failed_validation(scene: Path, tmp_path: Path) -> None:
    with pytest.raises(FailedValidation, match="picky"):
        Picky.handler(make_payload(scene, str(tmp_path)))


def test_collection_matchers_assign_output_collections(scene: Path, tmp_path: Path) -> None:
    data = make_payload(
        scene,
        str(tmp_path),
        collection_matchers=[
            {"type": "jsonpath", "pattern": "$[?(@.id =~ 'S2A.*')]", "collection_name": "s2a"},
            {"type": "catch_all", "collection_name": "other"},
        ],
    )
    second = dict(data["features"][0], id="S2A_XYZ")
    data["features"].append(second)
    output = Recorder.handler(data)
    assert [f["collection"] for f in output["features"]] == ["other", "s2a"]


def test_legacy_collection_mapping(scene: Path, tmp_path: Path) -> None:
    data = make_payload(scene, str(tmp_path))
    data["process"][0]["upload_options"]["collections"] = {"mine": "$[?(@.id =~ 'S2B.*')]"}
    assert Recorder.handler(data)["features"][0]["collection"] == "mine"


def test_software_version(scene: Path, tmp_path: Path) -> None:
    item: dict[str, Any] = {"id": "x", "properties": {}}
    Recorder.add_software_version_to_item(item)
    assert item["properties"]["processing:software"] == {"recorder": "0.1.0"}
    assert any("processing" in ext for ext in item["stac_extensions"])
    with pytest.warns(DeprecationWarning):
        Recorder.add_software_version([{"id": "y"}])


class Downloader(Task):
    name = "downloader"

    def process(self, **kwargs: Any) -> list[dict[str, Any]]:
        items = self.download_items_assets(self.items, assets=["data"])
        href = items[0].assets["data"].href
        assert Path(href).read_bytes().startswith(b"II*")
        assert Path(href).is_relative_to(self._workdir)
        uploaded = self.upload_local_item_assets_to_s3(items[0])
        return [uploaded.to_dict()]


def test_download_then_upload_local_assets(scene: Path, tmp_path: Path) -> None:
    data = make_payload(scene, f"{tmp_path.as_uri()}/up/${{id}}")
    output = Downloader.handler(data)
    href = output["features"][0]["assets"]["data"]["href"]
    assert href == f"{tmp_path.as_uri()}/up/S2B_17HQD_20201103_0_L2A/scene.tif"
    assert (tmp_path / "up" / "S2B_17HQD_20201103_0_L2A" / "scene.tif").exists()


def test_upload_item_writes_item_json(scene: Path, tmp_path: Path) -> None:
    data = make_payload(scene, f"{tmp_path.as_uri()}/${{collection}}/${{id}}")
    task = Recorder(data)
    url = task.upload_item(data["features"][0])
    assert url.endswith("sentinel-2-l2a/S2B_17HQD_20201103_0_L2A/S2B_17HQD_20201103_0_L2A.json")
    assert (tmp_path / "sentinel-2-l2a" / "S2B_17HQD_20201103_0_L2A").is_dir()


def test_resolve_builtin_and_file_tasks(fixtures: Path) -> None:
    assert resolve_task("copy-assets").__name__ == "CopyAssets"
    assert resolve_task(f"{fixtures}/tasks/ported_task.py:AddTitle").name == "add-title"
    assert resolve_task(f"{fixtures}/tasks/ported_task.py").name == "add-title"
    from cirrus.errors import ConfigError

    with pytest.raises(ConfigError, match=r"known tasks: .*copy-assets"):
        resolve_task("no-such-task")
    with pytest.raises(ConfigError, match="has no Task subclass named `Nope`"):
        resolve_task(f"{fixtures}/tasks/ported_task.py:Nope")


def test_logger_is_named_after_the_task_and_carries_the_payload_id(
    scene: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = make_payload(scene, str(tmp_path))
    data["id"] = "sentinel-2-l2a/workflow-cog-archive/S2B_17HQD_20201103_0_L2A"
    task = Recorder(data)
    with caplog.at_level("INFO", logger="recorder"):
        task.logger.info("hello")
    assert [(r.name, r.getMessage(), r.payload_id) for r in caplog.records] == [  # type: ignore[attr-defined]
        ("recorder", "hello", data["id"])
    ]
    assert task.logger is task.logger


def test_a_task_may_set_its_own_logger(scene: Path, tmp_path: Path) -> None:
    import logging

    class OwnLogger(Recorder):
        def __init__(self, payload: dict[str, Any], **kwargs: Any) -> None:
            super().__init__(payload, **kwargs)
            self.logger = logging.LoggerAdapter(logging.getLogger("mine"), {})

    assert OwnLogger(make_payload(scene, str(tmp_path))).logger.logger.name == "mine"


def test_legacy_task_list_still_gives_parameters(scene: Path, tmp_path: Path) -> None:
    data = make_payload(
        scene,
        str(tmp_path),
        workflow_options={"a": 1},
        tasks=[{"name": "recorder", "parameters": {"b": 2}}, {"name": "other"}],
    )
    with pytest.warns(DeprecationWarning, match="'tasks' as a list"):
        Recorder.handler(data)
    assert Recorder.seen["kwargs"] == {"a": 1, "b": 2}


def test_overridden_task_options_reach_process(scene: Path, tmp_path: Path) -> None:
    class Fixed(Recorder):
        @property
        def task_options(self) -> dict[str, Any]:
            return {"fixed": True}

    Fixed.handler(make_payload(scene, str(tmp_path), tasks={"recorder": {"b": 2}}))
    assert Recorder.seen["kwargs"] == {"fixed": True}


def test_parameters_are_copies(scene: Path, tmp_path: Path) -> None:
    data = make_payload(scene, str(tmp_path), workflow_options={"a": 1}, tasks={"recorder": {}})
    task = Recorder(data)
    task.parameters["a"] = 2
    task.task_options["b"] = 3
    assert task.parameters == {"a": 1}
    assert data["process"][0]["tasks"] == {"recorder": {}}


def test_items_keep_their_collection_without_matchers(scene: Path, tmp_path: Path) -> None:
    data = make_payload(scene, str(tmp_path))
    data["process"][0]["upload_options"] = None
    output = Recorder.handler(data)
    assert [f["collection"] for f in output["features"]] == ["sentinel-2-l2a"]


def test_handler_refuses_a_payload_that_is_not_an_object() -> None:
    from cirrus.errors import PayloadError

    with pytest.raises(PayloadError, match="must be a JSON object, not list"):
        Recorder.handler([])  # type: ignore[arg-type]


def test_a_file_with_a_base_and_a_derived_task_runs_the_derived_one(fixtures: Path) -> None:
    # the loader project tasks use serves `cirrus run task FILE.py` too
    assert resolve_task(f"{fixtures}/tasks/derived_task.py").name == "derived-title"
