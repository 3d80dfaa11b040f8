"""Task.download_item_assets with stactask's semantics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.task.conftest import make_payload
from tests.task.test_stactask_contract import NothingTask


def _task(scene: Path, tmp_path: Path) -> NothingTask:
    return NothingTask(make_payload(scene, str(tmp_path / "out")), workdir=tmp_path / "work")


def test_a_missing_optional_asset_leaves_the_item_unchanged(scene: Path, tmp_path: Path) -> None:
    task = _task(scene, tmp_path)
    before = task.items[0]
    after = task.download_item_assets(before, config={"include": ["nosuch_asset"]})
    assert [a.href for a in after.assets.values()] == [a.href for a in before.assets.values()]
    dropped = task.download_item_assets(
        before, config={"include": ["nosuch_asset"]}, keep_non_downloaded=False
    )
    assert dropped.assets == {}


def test_downloaded_assets_resolve_locally(scene: Path, tmp_path: Path) -> None:
    task = _task(scene, tmp_path)
    item = task.items[0]
    item.set_self_href("https://stac.example.com/items/S2B_17HQD_20201103_0_L2A")
    local = task.download_item_assets(item, config={"include": ["data"]})
    directory = tmp_path / "work" / "sentinel-2-l2a" / "S2B_17HQD_20201103_0_L2A"
    assert local.self_href == str(directory / "item.json")
    assert (directory / "item.json").is_file()
    href = local.assets["data"].get_absolute_href()
    assert href is not None and Path(href).read_bytes() == scene.read_bytes()
    # downloading the local copy again, elsewhere, works from the new self link
    again = task.download_item_assets(
        local, config={"include": ["data"]}, path_template="again/${collection}/${id}"
    )
    assert "again" in str(again.self_href)
    again_href: Any = again.assets["data"].get_absolute_href()
    assert "again" in again_href and Path(again_href).is_file()


def test_without_a_file_name_no_self_link_remains(scene: Path, tmp_path: Path) -> None:
    task = _task(scene, tmp_path)
    item = task.items[0]
    item.set_self_href("https://stac.example.com/items/x")
    local = task.download_item_assets(item, assets=["data"], file_name=None)
    assert local.get_self_href() is None
