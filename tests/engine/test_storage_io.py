"""Map ItemReader/ResultWriter on cirrus storage: mapped local roots, memory://, S3 (moto)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cirrus.cli.statemachine import statemachine
from cirrus.engine import StorageObjectIO, parse_bucket_roots, storage_object_io
from cirrus.errors import ConfigError
from cirrus.storage import MemoryStore, clear_store_cache, read_json, write_bytes, write_json
from tests.engine.fakes import run

PASS = {"P": {"Type": "Pass", "End": True}}


def map_machine(**fields: Any) -> dict[str, Any]:
    return {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ItemProcessor": {"StartAt": "P", "States": PASS},
                "End": True,
                **fields,
            }
        },
    }


def get_object(bucket: str, key: str, input_type: str = "JSON") -> dict[str, Any]:
    config: dict[str, Any] = {"InputType": input_type}
    if input_type == "CSV":
        config["CSVHeaderLocation"] = "FIRST_ROW"
    return {
        "Resource": "arn:aws:states:::s3:getObject",
        "ReaderConfig": config,
        "Parameters": {"Bucket": bucket, "Key": key},
    }


def list_objects(bucket: str, prefix: str) -> dict[str, Any]:
    return {
        "Resource": "arn:aws:states:::s3:listObjectsV2",
        "Parameters": {"Bucket": bucket, "Prefix": prefix},
    }


def put_results(bucket: str, prefix: str) -> dict[str, Any]:
    return {
        "Resource": "arn:aws:states:::s3:putObject",
        "Parameters": {"Bucket": bucket, "Prefix": prefix},
    }


@pytest.fixture(autouse=True)
def _fresh_store_cache() -> Iterator[None]:
    yield
    clear_store_cache()


@pytest.fixture
def memory_root() -> Iterator[str]:
    name = f"engine-{uuid.uuid4().hex[:8]}"
    yield f"memory://{name}/in"
    MemoryStore.clear(name)


def test_reader_from_memory_root_and_writer_to_local_root(memory_root: str, tmp_path: Path) -> None:
    write_json(f"{memory_root}/items.json", [{"n": 1}, {"n": 2}])
    write_bytes(f"{memory_root}/rows.csv", b"id,name\n1,a\n2,b\n")
    io = storage_object_io({"source-bucket": memory_root, "results-bucket": str(tmp_path)})

    csv_result = run(
        map_machine(ItemReader=get_object("source-bucket", "rows.csv", "CSV")), {}, object_io=io
    )
    assert csv_result.output == [{"id": "1", "name": "a"}, {"id": "2", "name": "b"}]

    machine = map_machine(
        ItemReader=get_object("source-bucket", "items.json"),
        ResultWriter=put_results("results-bucket", "runs"),
    )
    result = run(machine, {}, object_io=io)
    assert result.succeeded, result.cause
    details = result.output["ResultWriterDetails"]
    assert details["Bucket"] == "results-bucket"
    # The key lands directly under the mapped root: no bucket folder in between.
    manifest = json.loads((tmp_path / details["Key"]).read_text())
    succeeded_key = manifest["ResultFiles"]["SUCCEEDED"][0]["Key"]
    records = json.loads((tmp_path / succeeded_key).read_text())
    assert [json.loads(record["Output"]) for record in records] == [{"n": 1}, {"n": 2}]


def test_list_objects_uses_s3_string_prefixes_and_real_sizes(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "2024-01.json").write_bytes(b"[1]")
    (tmp_path / "logs" / "2024-02.json").write_bytes(b"[1, 2]")
    (tmp_path / "logs" / "2023-12.json").write_bytes(b"[]")
    io = StorageObjectIO({"b": tmp_path.as_uri()})
    result = run(map_machine(ItemReader=list_objects("b", "logs/2024-")), {}, object_io=io)
    assert [(item["Key"], item["Size"]) for item in result.output] == [
        ("logs/2024-01.json", 3),
        ("logs/2024-02.json", 6),
    ]
    assert io.list("b", "nothing/here") == []


def test_missing_object_is_item_reader_failed_and_catchable(tmp_path: Path) -> None:
    io = storage_object_io({"b": str(tmp_path)})
    machine = map_machine(ItemReader=get_object("b", "absent.json"))
    result = run(machine, {}, object_io=io)
    assert result.error == "States.ItemReaderFailed"
    assert "s3://b/absent.json" in (result.cause or "")


def test_keys_cannot_leave_a_mapped_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "secret.json").write_text("[1]")
    io = storage_object_io({"b": str(root)})
    result = run(map_machine(ItemReader=get_object("b", "../secret.json")), {}, object_io=io)
    assert result.error == "States.ItemReaderFailed"
    assert "'..'" in (result.cause or "")


def test_unmapped_buckets_are_s3_and_mapped_roots_are_normalized(tmp_path: Path) -> None:
    io = storage_object_io({"local": str(tmp_path)})
    assert io.url_for("elsewhere", "a/b.json") == "s3://elsewhere/a/b.json"
    assert io.url_for("local", "a/b.json") == f"{tmp_path.as_uri()}/a/b.json"


def test_parse_bucket_roots() -> None:
    assert parse_bucket_roots(["a=./data", "b = s3://other/prefix"]) == {
        "a": "./data",
        "b": "s3://other/prefix",
    }
    with pytest.raises(ConfigError, match="NAME=ROOT"):
        parse_bucket_roots(["just-a-name"])
    with pytest.raises(ConfigError, match="mapped twice"):
        parse_bucket_roots(["a=./x", "a=./y"])
    with pytest.raises(ConfigError, match="without '/'"):
        parse_bucket_roots(["a/b=./x"])
    with pytest.raises(ConfigError, match="bucket 'a'"):
        StorageObjectIO({"a": "ftp://host/x"})


def test_reader_and_writer_on_s3(s3_bucket: str) -> None:
    items = b'[{"n": 1}, {"n": 2}, {"n": 3}]'
    rows = b"id\nx\ny\n"
    write_bytes(f"s3://{s3_bucket}/in/items.json", items)
    write_bytes(f"s3://{s3_bucket}/in/rows.csv", rows)
    io = storage_object_io()
    machine = map_machine(
        ItemReader=get_object(s3_bucket, "in/items.json"),
        ResultWriter=put_results(s3_bucket, "out"),
    )
    result = run(machine, {}, object_io=io)
    assert result.succeeded, result.cause
    manifest = read_json(f"s3://{s3_bucket}/{result.output['ResultWriterDetails']['Key']}")
    assert manifest["DestinationBucket"] == s3_bucket
    succeeded = manifest["ResultFiles"]["SUCCEEDED"][0]
    records = read_json(f"s3://{s3_bucket}/{succeeded['Key']}")
    assert [json.loads(r["Output"]) for r in records] == [{"n": 1}, {"n": 2}, {"n": 3}]
    listed = run(map_machine(ItemReader=list_objects(s3_bucket, "in/")), {}, object_io=io)
    assert [(item["Key"], item["Size"]) for item in listed.output] == [
        ("in/items.json", len(items)),
        ("in/rows.csv", len(rows)),
    ]


def test_cli_bucket_option_maps_a_bucket_to_a_local_root(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "items.json").write_text('[{"n": 1}, {"n": 2}]')
    definition = tmp_path / "m.json"
    definition.write_text(json.dumps(map_machine(ItemReader=get_object("my-bucket", "items.json"))))
    payload = tmp_path / "in.json"
    payload.write_text("{}")
    args = ["run", str(definition), "--input", str(payload), "--time-scale", "0"]
    result = CliRunner().invoke(statemachine, [*args, "--bucket", f"my-bucket={data}"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [{"n": 1}, {"n": 2}]
    bad = CliRunner().invoke(statemachine, [*args, "--bucket", "my-bucket"])
    assert bad.exit_code == 2
    assert "NAME=ROOT" in bad.output
