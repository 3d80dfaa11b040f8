"""build_static_catalog and check_catalog on small hand-made items."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from cirrus.demo.catalog import build_static_catalog
from cirrus.demo.check import PNG_SIGNATURE, check_catalog
from cirrus.errors import InvalidInput, NotFound


def _collection() -> dict[str, Any]:
    return {
        "type": "Collection",
        "stac_version": "1.1.0",
        "id": "scenes",
        "description": "Test scenes",
        "license": "CC0-1.0",
        "extent": {
            "spatial": {"bbox": [[0.0, 0.0, 1.0, 1.0]]},
            "temporal": {"interval": [["2024-01-01T00:00:00Z", None]]},
        },
        "links": [{"rel": "self", "href": "/somewhere/else/collection.json"}],
    }


def _item(item_id: str, assets: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "Feature",
        "stac_version": "1.1.0",
        "id": item_id,
        "collection": "scenes",
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]],
        },
        "bbox": [0, 0, 1, 1],
        "properties": {"datetime": "2024-01-01T00:00:00Z"},
        "links": [
            {"rel": "self", "href": f"/published/{item_id}.json"},
            {"rel": "canonical", "href": f"/published/{item_id}.json"},
            {"rel": "collection", "href": "/input/collection.json"},
            {"rel": "via", "href": "https://example.com/source"},
        ],
        "assets": assets,
    }


@pytest.fixture
def published(tmp_path: Path) -> list[dict[str, Any]]:
    """Two items whose thumbnails are local PNG files, plus one remote asset."""
    items = []
    for item_id in ("a", "b"):
        png = tmp_path / "published" / item_id / "thumb.png"
        png.parent.mkdir(parents=True)
        png.write_bytes(PNG_SIGNATURE + b"rest of the file")
        items.append(
            _item(
                item_id,
                {
                    "thumbnail": {"href": str(png), "type": "image/png", "roles": ["thumbnail"]},
                    "remote": {"href": "https://example.com/data.tif", "roles": ["data"]},
                },
            )
        )
    return items


def _read(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def test_layout_links_and_copied_assets(published: list[dict[str, Any]], tmp_path: Path) -> None:
    before = copy.deepcopy(published)
    out = tmp_path / "catalog"
    catalog_file = build_static_catalog(published, _collection(), out, catalog_id="test")

    assert catalog_file == out / "catalog.json"
    assert published == before  # the inputs are not changed
    catalog = _read(catalog_file)
    assert catalog["id"] == "test"
    assert {link["rel"]: link["href"] for link in catalog["links"]} == {
        "root": "./catalog.json",
        "child": "./scenes/collection.json",
    }
    item = _read(out / "scenes" / "a" / "a.json")
    rels = {link["rel"]: link["href"] for link in item["links"]}
    assert rels == {
        "root": "../../catalog.json",
        "collection": "../collection.json",
        "parent": "../collection.json",
        "via": "https://example.com/source",  # links that do not place the item are kept
    }
    assert item["assets"]["thumbnail"]["href"] == "./thumb.png"
    assert (out / "scenes" / "a" / "thumb.png").read_bytes().startswith(PNG_SIGNATURE)
    assert item["assets"]["remote"]["href"] == "https://example.com/data.tif"


def test_without_copying_assets_are_linked_where_they_are(
    published: list[dict[str, Any]], tmp_path: Path
) -> None:
    out = tmp_path / "catalog"
    build_static_catalog(published, _collection(), out, copy_assets=False)
    item = _read(out / "scenes" / "a" / "a.json")
    assert item["assets"]["thumbnail"]["href"] == "../../../published/a/thumb.png"
    assert not (out / "scenes" / "a" / "thumb.png").exists()


def test_two_items_with_one_id_are_refused(published: list[dict[str, Any]], tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="two items have the id 'a'"):
        build_static_catalog([published[0], published[0]], _collection(), tmp_path)


def test_a_missing_local_asset_is_named(published: list[dict[str, Any]], tmp_path: Path) -> None:
    published[1]["assets"]["thumbnail"]["href"] = str(tmp_path / "gone.png")
    with pytest.raises(NotFound, match="item 'b' asset 'thumbnail'"):
        build_static_catalog(published, _collection(), tmp_path / "catalog")


def test_check_accepts_a_good_catalog(published: list[dict[str, Any]], tmp_path: Path) -> None:
    for item in published:
        del item["assets"]["remote"]  # the checker wants every asset on disk
    catalog_file = build_static_catalog(published, _collection(), tmp_path / "catalog")
    report = check_catalog(catalog_file)
    assert report.problems == []
    assert report.ok
    assert [item.id for item in report.items] == ["a", "b"]
    assert report.items[0].thumbnails == [tmp_path / "catalog" / "scenes" / "a" / "thumb.png"]
    assert report.collections == [tmp_path / "catalog" / "scenes" / "collection.json"]


def test_check_names_each_problem(published: list[dict[str, Any]], tmp_path: Path) -> None:
    catalog_file = build_static_catalog(published, _collection(), tmp_path / "catalog")
    folder = tmp_path / "catalog" / "scenes"
    (folder / "b" / "thumb.png").write_bytes(b"GIF89a")
    broken = _read(folder / "a" / "a.json")
    del broken["properties"]["datetime"]
    (folder / "a" / "a.json").write_text(json.dumps(broken))

    report = check_catalog(catalog_file)
    assert not report.ok
    problems = "\n".join(report.problems)
    assert f"{folder / 'a' / 'a.json'}: " in problems  # schema failure names the file
    assert "datetime" in problems
    assert f"{folder / 'b' / 'thumb.png'}: thumbnail 'thumbnail' is not a PNG file" in problems
    assert "asset 'remote' has no local file at https://example.com/data.tif" in problems


def test_check_reports_an_unreadable_catalog(tmp_path: Path) -> None:
    report = check_catalog(tmp_path / "catalog.json")
    assert not report.ok
    assert report.problems[0].startswith(f"{tmp_path / 'catalog.json'}: not readable JSON")


def test_the_demo_api_is_exported_and_light() -> None:
    import subprocess
    import sys

    import cirrus.demo

    for name in cirrus.demo.__all__:
        assert getattr(cirrus.demo, name) is not None
    heavy = "('pystac', 'rasterio', 'rio_cogeo')"
    code = f"import sys, cirrus.demo; print(sorted(m for m in {heavy} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
