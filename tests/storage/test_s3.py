"""S3 specifics checked through boto3 against the moto server: attributes, ACLs, settings."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from cirrus.errors import StorageError
from cirrus.storage import copy, open_store, to_https_url, write_bytes, write_json

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"


def _client(moto_endpoint: str) -> Any:
    return boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")


def _public_read(client: Any, bucket: str, key: str) -> bool:
    grants = client.get_object_acl(Bucket=bucket, Key=key)["Grants"]
    return any(g["Grantee"].get("URI") == ALL_USERS and g["Permission"] == "READ" for g in grants)


def test_headers_and_content_type_become_object_attributes(
    s3_bucket: str, moto_endpoint: str
) -> None:
    write_bytes(
        f"s3://{s3_bucket}/c/b04.tif",
        b"II*\x00",
        content_type="image/tiff; application=geotiff",
        headers={"CacheControl": "max-age=3600", "ContentDisposition": "attachment"},
    )
    head = _client(moto_endpoint).head_object(Bucket=s3_bucket, Key="c/b04.tif")
    assert head["ContentType"] == "image/tiff; application=geotiff"
    assert head["CacheControl"] == "max-age=3600"
    assert head["ContentDisposition"] == "attachment"


def test_http_style_header_names_and_metadata(s3_bucket: str, moto_endpoint: str) -> None:
    write_bytes(
        f"s3://{s3_bucket}/m.bin",
        b"x",
        headers={"Cache-Control": "no-cache", "x-amz-meta-origin": "cirrus"},
    )
    head = _client(moto_endpoint).head_object(Bucket=s3_bucket, Key="m.bin")
    assert head["CacheControl"] == "no-cache"
    assert head["Metadata"] == {"origin": "cirrus"}


def test_public_grants_all_users_read(s3_bucket: str, moto_endpoint: str) -> None:
    client = _client(moto_endpoint)
    write_json(f"s3://{s3_bucket}/pub/item.json", {"id": "a"}, public=True)
    write_json(f"s3://{s3_bucket}/priv/item.json", {"id": "a"})
    assert _public_read(client, s3_bucket, "pub/item.json")
    assert not _public_read(client, s3_bucket, "priv/item.json")


def test_acl_header_means_public(s3_bucket: str, moto_endpoint: str) -> None:
    write_bytes(f"s3://{s3_bucket}/acl.bin", b"x", headers={"ACL": "public-read"})
    assert _public_read(_client(moto_endpoint), s3_bucket, "acl.bin")


def test_public_streamed_copy_keeps_prefix(
    s3_bucket: str, moto_endpoint: str, tmp_path: Any
) -> None:
    source = tmp_path / "a.tif"
    source.write_bytes(b"data")
    store = open_store(f"s3://{s3_bucket}/root/sub")
    store.upload_file(source, "x/a.tif", public=True, headers={"CacheControl": "max-age=1"})
    client = _client(moto_endpoint)
    assert _public_read(client, s3_bucket, "root/sub/x/a.tif")
    copy(f"s3://{s3_bucket}/root/sub/x/a.tif", f"s3://{s3_bucket}/copied/a.tif", public=True)
    assert _public_read(client, s3_bucket, "copied/a.tif")
    assert client.get_object(Bucket=s3_bucket, Key="copied/a.tif")["Body"].read() == b"data"


def test_unsupported_header_is_refused_with_the_allowed_names(s3_bucket: str) -> None:
    with pytest.raises(StorageError, match=r"CacheControl"):
        write_bytes(f"s3://{s3_bucket}/h.bin", b"x", headers={"Expires-Soon": "1"})


def test_missing_bucket_is_storage_error_naming_url(
    moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    with pytest.raises(StorageError, match=r"s3://no-such-bucket-here/a\.json"):
        write_bytes("s3://no-such-bucket-here/a.json", b"x")


def test_https_url_points_at_the_object(s3_bucket: str) -> None:
    import urllib.request

    write_bytes(f"s3://{s3_bucket}/p/q.txt", b"hello", public=True)
    url = to_https_url(f"s3://{s3_bucket}/p/q.txt")
    assert url.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(url) as response:
        assert response.read() == b"hello"


def test_endpoint_change_opens_a_new_store(s3_bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    first = open_store(f"s3://{s3_bucket}")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:1")
    assert open_store(f"s3://{s3_bucket}") is not first
