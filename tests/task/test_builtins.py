"""The built-in copy-assets and publish tasks, on local files and on S3 (moto)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from cirrus.errors import InvalidInput, PathEscapeError
from cirrus.task.builtins.copy_assets import CopyAssets
from cirrus.task.builtins.publish import Publish
from tests.task.conftest import make_payload


def test_copy_assets_to_a_local_template(scene: Path, tmp_path: Path) -> None:
    template = f"{(tmp_path / 'out').as_uri()}/${{collection}}/${{id}}"
    data = make_payload(scene, template, tasks={"copy-assets": {"assets": ["data"]}})
    output = CopyAssets.handler(data)
    item = output["features"][0]
    expected = tmp_path / "out" / "sentinel-2-l2a" / "S2B_17HQD_20201103_0_L2A" / "scene.tif"
    assert expected.read_bytes() == scene.read_bytes()
    assert item["assets"]["data"]["href"] == expected.as_uri()
    # assets not named stay where they were
    assert item["assets"]["metadata"]["href"] == str(scene.with_name("meta.xml"))


def test_copy_assets_missing_key_is_invalid_input(scene: Path, tmp_path: Path) -> None:
    data = make_payload(scene, str(tmp_path / "${id}"), tasks={"copy-assets": {"assets": ["nope"]}})
    with pytest.raises(InvalidInput, match="'nope'"):
        CopyAssets.handler(data)


def test_item_id_cannot_climb_out_of_the_data_root(scene: Path, tmp_path: Path) -> None:
    root = tmp_path / "data"
    data = make_payload(
        scene, f"{root.as_uri()}/${{id}}", tasks={"copy-assets": {"assets": ["data"]}}
    )
    data["features"][0]["id"] = "../../escaped"
    with pytest.raises(PathEscapeError):
        CopyAssets.handler(data)
    assert not (tmp_path.parent / "escaped").exists()
    assert not list(tmp_path.rglob("escaped"))


def test_relative_template_goes_under_the_data_root(scene: Path, tmp_path: Path) -> None:
    data = make_payload(scene, "catalog/${id}", tasks={"copy-assets": {"assets": ["data"]}})
    output = CopyAssets.handler(data, data_root=str(tmp_path / "root"))
    href = output["features"][0]["assets"]["data"]["href"]
    assert href.endswith("/root/catalog/S2B_17HQD_20201103_0_L2A/scene.tif")
    assert (tmp_path / "root" / "catalog" / "S2B_17HQD_20201103_0_L2A" / "scene.tif").exists()


def test_copy_assets_to_s3_with_public_headers_and_https(scene: Path, s3_bucket: str) -> None:
    data = make_payload(
        scene,
        f"s3://{s3_bucket}/${{collection}}/${{year}}/${{id}}",
        tasks={"copy-assets": {"assets": ["data"]}},
    )
    options = data["process"][0]["upload_options"]
    options.update(public_assets=["data"], headers={"CacheControl": "max-age=60"}, s3_urls=False)
    output = CopyAssets.handler(data)
    key = "sentinel-2-l2a/2020/S2B_17HQD_20201103_0_L2A/scene.tif"
    client: Any = boto3.client("s3")
    body = client.get_object(Bucket=s3_bucket, Key=key)
    assert body["Body"].read() == scene.read_bytes()
    assert body["CacheControl"] == "max-age=60"
    grants = client.get_object_acl(Bucket=s3_bucket, Key=key)["Grants"]
    assert any(g["Grantee"].get("URI", "").endswith("/AllUsers") for g in grants)
    href = output["features"][0]["assets"]["data"]["href"]
    assert href.startswith("http") and href.endswith(f"{s3_bucket}/{key}")


def test_publish_writes_item_with_links_and_keeps_created(scene: Path, tmp_path: Path) -> None:
    template = f"{(tmp_path / 'catalog').as_uri()}/${{collection}}/${{id}}"
    data = make_payload(scene, template)
    first = Publish.handler(data)["features"][0]
    path = (
        tmp_path
        / "catalog"
        / "sentinel-2-l2a"
        / "S2B_17HQD_20201103_0_L2A"
        / ("S2B_17HQD_20201103_0_L2A.json")
    )
    stored = json.loads(path.read_text())
    assert stored["id"] == "S2B_17HQD_20201103_0_L2A"
    links = {link["rel"]: link["href"] for link in stored["links"]}
    assert links["self"] == links["canonical"] == path.as_uri()
    second = Publish.handler(data)["features"][0]
    assert second["properties"]["created"] == first["properties"]["created"]
    assert second["properties"]["updated"] >= first["properties"]["updated"]
    assert json.loads(path.read_text())["properties"]["updated"] == second["properties"]["updated"]


def test_publish_to_s3(scene: Path, s3_bucket: str) -> None:
    data = make_payload(scene, f"s3://{s3_bucket}/items/${{id}}")
    Publish.handler(data)
    client: Any = boto3.client("s3")
    body = client.get_object(
        Bucket=s3_bucket, Key="items/S2B_17HQD_20201103_0_L2A/S2B_17HQD_20201103_0_L2A.json"
    )
    assert json.loads(body["Body"].read())["links"][0]["href"].startswith(f"s3://{s3_bucket}/")
