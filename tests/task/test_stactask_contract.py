"""The Task contract as stactask 0.7 defines it: a task written for stactask runs unchanged.

These are the cases of stac-task v0.7.0's own ``tests/test_task.py`` (same inputs, same
expectations), run against :class:`cirrus.task.Task` on a payload of our own with the same
shape: two Sentinel-2 L2A items with many assets, ``public_assets: "ALL"``, the legacy
``upload_options.collections`` map and per-task options.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from pystac import Asset

from cirrus.errors import FailedValidation
from cirrus.task import Task

PAYLOAD_FILE = (
    Path(__file__).parent.parent / "fixtures" / "payloads" / "sentinel-2-l2a-many-assets.json"
)
FIRST_ID = "S2B_18HUB_20230105_0_L2A"


class NothingTask(Task):
    name = "nothing-task"
    description = "this task does nothing"

    def process(self, **kwargs: Any) -> list[dict[str, Any]]:
        return self.items_as_dicts


class FailValidateTask(Task):
    name = "failvalidation-task"
    description = "this task always fails validation"

    def validate(self) -> bool:
        if self._payload:
            raise FailedValidation("Extra context about what went wrong")
        return True

    def process(self, **kwargs: Any) -> list[dict[str, Any]]:
        return self.items_as_dicts


class DerivedItemTask(Task):
    name = "derived-item-task"
    description = "this task creates a derived item"

    def process(self, **kwargs: Any) -> list[dict[str, Any]]:
        assert kwargs["parameter"] == "value"
        return [self.create_item_from_item(self.items_as_dicts[0])]


@pytest.fixture
def payload() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(PAYLOAD_FILE.read_text())
    return data


@pytest.fixture
def nothing_task(payload: dict[str, Any]) -> Task:
    return NothingTask(payload)


def test_task_init(nothing_task: Task) -> None:
    assert len(nothing_task._payload["features"]) == 2
    assert len(nothing_task.items) == 2
    assert nothing_task.logger.name == nothing_task.name
    assert nothing_task._save_workdir is False


def test_failed_validation(payload: dict[str, Any]) -> None:
    with pytest.raises(FailedValidation, match="Extra context"):
        FailValidateTask(payload)


def test_process_as_a_bare_object_warns(nothing_task: Task) -> None:
    nothing_task._payload["process"] = nothing_task._payload["process"][0]
    with pytest.warns(DeprecationWarning):
        _ = nothing_task.process_definition


def test_workflow_options_are_added_to_task_options(nothing_task: Task) -> None:
    nothing_task._payload["process"][0]["workflow_options"] = {"workflow_option": "value"}
    assert nothing_task.parameters == {"do_nothing": True, "workflow_option": "value"}


def test_workflow_options_alone_when_the_task_has_none(nothing_task: Task) -> None:
    nothing_task._payload["process"][0]["tasks"].pop("nothing-task")
    nothing_task._payload["process"][0]["workflow_options"] = {"workflow_option": "value"}
    assert nothing_task.parameters == {"workflow_option": "value"}


def test_task_options_win_over_workflow_options(nothing_task: Task) -> None:
    nothing_task._payload["process"][0]["workflow_options"] = {
        "do_nothing": False,
        "workflow_option": "value",
    }
    assert nothing_task.parameters == {"do_nothing": True, "workflow_option": "value"}


def test_process_definition_is_the_live_dict(nothing_task: Task) -> None:
    nothing_task.process_definition["workflow"] = "test-task-workflow"
    assert nothing_task._payload["process"][0]["workflow"] == "test-task-workflow"
    assert nothing_task._payload["features"][0]["type"] == "Feature"


@pytest.mark.parametrize("save_workdir", [False, True, None])
def test_temporary_workdir(payload: dict[str, Any], save_workdir: bool | None) -> None:
    task = NothingTask(payload, save_workdir=save_workdir)
    expected = bool(save_workdir)
    assert task._save_workdir is expected
    workdir = task._workdir
    assert workdir.parts[-1].startswith("tmp")
    assert workdir.is_absolute() and workdir.is_dir()
    task.cleanup_workdir()
    assert workdir.exists() is expected


@pytest.mark.parametrize("save_workdir", [False, True, None])
def test_given_workdir(payload: dict[str, Any], tmp_path: Path, save_workdir: bool | None) -> None:
    task = NothingTask(payload, workdir=tmp_path / "test_task", save_workdir=save_workdir)
    expected = save_workdir if save_workdir is not None else True
    assert task._save_workdir is expected
    workdir = task._workdir
    assert workdir.parts[-1] == "test_task"
    assert workdir.is_absolute() and workdir.is_dir()
    task.cleanup_workdir()
    assert workdir.exists() is expected


def test_parameters(payload: dict[str, Any]) -> None:
    task = NothingTask(payload)
    assert task.process_definition["workflow"] == "cog-archive"
    expected = payload["process"][0]["upload_options"]["path_template"]
    assert task.upload_options["path_template"] == expected


def test_process(nothing_task: Task) -> None:
    assert nothing_task.process()[0]["type"] == "Feature"


def test_post_process_item_keeps_extensions_sorted(payload: dict[str, Any]) -> None:
    class PostProcessTask(NothingTask):
        name = "post-processing-test"
        version = "42"

        def post_process_item(self, item: dict[str, Any]) -> dict[str, Any]:
            item["properties"]["foo"] = "bar"
            item["stac_extensions"].insert(0, "zzz")
            return super().post_process_item(item)

    output = PostProcessTask.handler(payload)
    for item in output["features"]:
        assert item["properties"]["foo"] == "bar"
        assert item["stac_extensions"] == sorted(item["stac_extensions"])


def test_derived_item_links_to_its_source(payload: dict[str, Any]) -> None:
    task = DerivedItemTask(payload)
    [item] = task.process(**task.parameters)
    [derived] = [link for link in item["links"] if link["rel"] == "derived_from"]
    source_self = next(link for link in item["links"] if link["rel"] == "self")
    assert derived["href"] == source_self["href"]


def test_handler_runs_the_task(payload: dict[str, Any]) -> None:
    source_self = next(link for link in payload["features"][0]["links"] if link["rel"] == "self")
    output = DerivedItemTask.handler(payload)
    links = output["features"][0]["links"]
    assert (
        next(link for link in links if link["rel"] == "derived_from")["href"]
        == (source_self["href"])
    )


def test_parse_args_without_arguments_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        NothingTask.parse_args([])
    assert exited.value.code == 0
    assert "run" in capsys.readouterr().out


def test_parse_args_defaults() -> None:
    args = NothingTask.parse_args(["run", "input", "--save-workdir"])
    assert args["command"] == "run"
    assert args["logging"] == "INFO"
    assert args["input"] == "input"
    assert args["save_workdir"] is True
    assert args["upload"] is True
    assert args["validate"] is True


def test_parse_args_deprecated_skip_flags_warn() -> None:
    with pytest.warns(FutureWarning, match="deprecated: use --no-"):
        args = NothingTask.parse_args(["run", "input", "--skip-upload", "--skip-validation"])
    assert args["upload"] is False
    assert args["validate"] is False


@pytest.mark.parametrize(
    ("flags", "upload", "validate"),
    [
        pytest.param("--no-upload --no-validate", False, False, id="no-no"),
        pytest.param("--no-upload --validate", False, True, id="no-yes"),
        pytest.param("--upload --no-validate", True, False, id="yes-no"),
        pytest.param("--upload --validate", True, True, id="yes-yes"),
    ],
)
def test_parse_args_upload_and_validate_flags(flags: str, upload: bool, validate: bool) -> None:
    args = NothingTask.parse_args(["run", "input", *flags.split()])
    assert args["upload"] is upload
    assert args["validate"] is validate


def test_collection_mapping(nothing_task: Task) -> None:
    assert nothing_task.collection_mapping == {"sentinel-2-l2a": "$[?(@.id =~ 'S2[AB].*')]"}


@mock_aws
def test_upload_to_s3_under_mock_aws(nothing_task: Task) -> None:
    client = boto3.client("s3")
    client.create_bucket(
        Bucket="example-cogs", CreateBucketConfiguration={"LocationConstraint": "us-west-2"}
    )
    item = nothing_task.items.items[0]
    local = nothing_task._workdir / "foo.txt"
    local.write_text("some text")
    item.add_asset("key1", Asset(href=str(local)))
    uploaded = nothing_task.upload_local_item_assets_to_s3(item)
    key = f"sentinel-2-l2a/18/H/UB/2023/1/{FIRST_ID}/foo.txt"
    # https by default, in the bucket's own region; month not zero-padded
    assert uploaded.assets["key1"].href == f"https://example-cogs.s3.us-west-2.amazonaws.com/{key}"
    stored = client.get_object(Bucket="example-cogs", Key=key)
    assert stored["Body"].read() == b"some text"
    assert stored["ContentType"] == "text/plain"
    assert stored["CacheControl"] == "public, max-age=31536000, immutable"
    grants = client.get_object_acl(Bucket="example-cogs", Key=key)["Grants"]
    assert any(g["Grantee"].get("URI", "").endswith("/AllUsers") for g in grants)  # "ALL"


@mock_aws
def test_upload_keeps_the_asset_media_type_and_s3_urls_on_request(payload: dict[str, Any]) -> None:
    client = boto3.client("s3", region_name="us-east-1")
    client.create_bucket(Bucket="example-cogs")
    payload["process"][0]["upload_options"].update(s3_urls=True, public_assets=["other"])
    task = NothingTask(payload)
    item = task.items.items[0]
    local = task._workdir / "B04.tif"
    local.write_bytes(b"II*\x00")
    cog = "image/tiff; application=geotiff; profile=cloud-optimized"
    item.add_asset("cog", Asset(href=str(local), media_type=cog))
    uploaded = task.upload_local_item_assets_to_s3(item)
    key = f"sentinel-2-l2a/18/H/UB/2023/1/{FIRST_ID}/B04.tif"
    assert uploaded.assets["cog"].href == f"s3://example-cogs/{key}"
    assert client.head_object(Bucket="example-cogs", Key=key)["ContentType"] == cog
    grants = client.get_object_acl(Bucket="example-cogs", Key=key)["Grants"]
    assert not any(g["Grantee"].get("URI", "").endswith("/AllUsers") for g in grants)


def test_upload_disabled_leaves_the_item(payload: dict[str, Any]) -> None:
    task = NothingTask(payload, upload=False)
    item = task.items.items[0]
    local = task._workdir / "foo.txt"
    local.write_text("x")
    item.add_asset("key1", Asset(href=str(local)))
    assert task.upload_local_item_assets_to_s3(item).assets["key1"].href == str(local)
