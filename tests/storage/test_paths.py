"""URL joining, splitting and the https form of S3 URLs."""

from __future__ import annotations

import os

import pytest

from cirrus.errors import PathEscapeError, StorageError
from cirrus.storage import join_url, open_store, split_url, to_https_url


@pytest.mark.parametrize(
    ("root", "parts", "expected"),
    [
        pytest.param(
            "s3://bucket/data",
            ("coll/workflow-x/item1/item2", "a.json"),
            "s3://bucket/data/coll/workflow-x/item1/item2/a.json",
            id="s3",
        ),
        pytest.param("s3://bucket", ("a.json",), "s3://bucket/a.json", id="s3-bucket-root"),
        pytest.param("file:///tmp/x/", ("a", "b.json"), "file:///tmp/x/a/b.json", id="file"),
        pytest.param("file:///", ("a",), "file:///a", id="file-root"),
        pytest.param("/tmp/x", ("executions/",), "/tmp/x/executions", id="path-trailing-slash"),
        pytest.param("memory://t", ("a",), "memory://t/a", id="memory"),
        pytest.param("https://h:8/p", ("a b",), "https://h:8/p/a b", id="https"),
        pytest.param("file:///tmp", ("a b",), "file:///tmp/a%20b", id="file-quoted"),
        pytest.param("s3://b/p", (), "s3://b/p", id="no-parts"),
    ],
)
def test_join_url(root: str, parts: tuple[str, ...], expected: str) -> None:
    assert join_url(root, *parts) == expected


def test_join_url_error_names_part_and_what_is_allowed() -> None:
    with pytest.raises(PathEscapeError) as info:
        join_url("s3://bucket/data", "coll", "../../etc/passwd")
    message = str(info.value)
    assert "'../../etc/passwd'" in message
    assert "'..'" in message
    assert "relative to its root" in message


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("s3://bucket/a/b.json", ("s3://bucket", "a/b.json")),
        ("s3://bucket", ("s3://bucket", "")),
        ("file:///tmp/a%20b/c.json", ("file:///", "tmp/a b/c.json")),
        ("memory://t/x/y", ("memory://t", "x/y")),
        ("https://example.com:8443/a/b.tif", ("https://example.com:8443", "a/b.tif")),
        ("/tmp/q.json", ("file:///", "tmp/q.json")),
    ],
)
def test_split_url(url: str, expected: tuple[str, str]) -> None:
    assert split_url(url) == expected


def test_relative_path_resolves_against_cwd(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(str(tmp_path))
    assert split_url("out/a.json") == ("file:///", f"{os.getcwd().strip('/')}/out/a.json")
    assert open_store("out").url == f"file://{os.getcwd()}/out"


def test_unknown_scheme_lists_valid_ones() -> None:
    with pytest.raises(StorageError) as info:
        open_store("gs://bucket/x")
    for scheme in ("file://", "s3://", "memory://", "http://", "https://"):
        assert scheme in str(info.value)


@pytest.mark.parametrize("url", ["s3://", "memory://", "https://", "file://otherhost/x", ""])
def test_malformed_urls_are_storage_errors(url: str) -> None:
    with pytest.raises(StorageError):
        open_store(url)


def test_to_https_url_on_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    assert (
        to_https_url("s3://bucket/coll/item/b04.tif")
        == "https://bucket.s3.eu-west-1.amazonaws.com/coll/item/b04.tif"
    )
    assert to_https_url("s3://b/k", region="us-west-2") == "https://b.s3.us-west-2.amazonaws.com/k"


def test_to_https_url_with_custom_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9000/")
    assert to_https_url("s3://bucket/a/b.tif") == "http://127.0.0.1:9000/bucket/a/b.tif"
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9001")
    assert to_https_url("s3://bucket/a/b.tif") == "http://127.0.0.1:9001/bucket/a/b.tif"


def test_to_https_url_refuses_other_schemes() -> None:
    with pytest.raises(StorageError, match=r"s3://"):
        to_https_url("file:///tmp/a")
