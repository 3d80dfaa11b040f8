"""One behaviour contract, run against every writable backend.

The backends: plain path, file://, memory://, sqlite://, s3://.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from cirrus.errors import NotFound, PathEscapeError, StorageError
from cirrus.storage import (
    AlreadyExists,
    ObjectStore,
    delete,
    download,
    exists,
    join_url,
    list_urls,
    open_store,
    read_bytes,
    read_json,
    upload,
    write_bytes,
    write_json,
)

PAYLOAD_ID = "sentinel-s2-l2a/workflow-cog-archive/S2B_17HQD_20201103_0_L2A"
ESCAPES = [
    pytest.param("../../etc/passwd", id="dotdot"),
    pytest.param("/abs", id="absolute"),
    pytest.param("a/../../b", id="inner-dotdot"),
    pytest.param("a/../b", id="inner-dotdot-inside"),
    pytest.param("C:/Windows/x", id="drive"),
    pytest.param("a\\..\\..\\b", id="backslash"),
    pytest.param("a\x00b", id="nul"),
    pytest.param("a//b", id="empty-segment"),
    pytest.param("./a", id="dot"),
    pytest.param("..", id="bare-dotdot"),
    pytest.param("", id="empty"),
]


@pytest.fixture
def store(root_url: str) -> ObjectStore:
    return open_store(root_url)


def test_put_then_get_returns_same_bytes(store: ObjectStore) -> None:
    store.put(f"{PAYLOAD_ID}/input.json", b'{"a": 1}')
    assert store.get(f"{PAYLOAD_ID}/input.json") == b'{"a": 1}'


def test_put_overwrites(store: ObjectStore) -> None:
    store.put("a.txt", b"one")
    store.put("a.txt", b"two")
    assert store.get("a.txt") == b"two"


def test_get_missing_raises_not_found_naming_url(store: ObjectStore) -> None:
    with pytest.raises(NotFound, match=r"missing\.json"):
        store.get("dir/missing.json")


def test_open_read_missing_raises_not_found(store: ObjectStore) -> None:
    with pytest.raises(NotFound):
        store.open_read("missing.bin")


def test_exists_and_delete(store: ObjectStore) -> None:
    store.put("x/y.bin", b"1")
    assert store.exists("x/y.bin")
    assert not store.exists("x/z.bin")
    store.delete("x/y.bin")
    assert not store.exists("x/y.bin")
    store.delete("x/y.bin")  # a missing object is fine


def test_a_folder_is_not_an_object(store: ObjectStore) -> None:
    store.put("d/e.bin", b"1")
    assert not store.exists("d")
    with pytest.raises(NotFound):
        store.get("d")


def test_list_is_relative_and_directory_scoped(store: ObjectStore) -> None:
    for key in ("a/b/1.json", "a/b/2.json", "a/bc.json", "z.json"):
        store.put(key, b"{}")
    assert sorted(store.list("a/b")) == ["a/b/1.json", "a/b/2.json"]
    assert sorted(store.list("a/b/")) == ["a/b/1.json", "a/b/2.json"]
    assert sorted(store.list()) == ["a/b/1.json", "a/b/2.json", "a/bc.json", "z.json"]
    assert list(store.list("nothing")) == []


def test_json_round_trip(store: ObjectStore) -> None:
    obj = {"type": "FeatureCollection", "features": [{"id": "é"}]}
    store.put_json("p.json", obj)
    assert store.get_json("p.json") == obj


def test_get_json_on_invalid_json_is_storage_error(store: ObjectStore) -> None:
    store.put("bad.json", b"{nope")
    with pytest.raises(StorageError, match=r"not valid JSON"):
        store.get_json("bad.json")


def test_if_absent_refuses_second_write_and_keeps_first(store: ObjectStore) -> None:
    store.put("claim.json", b"first", if_absent=True)
    with pytest.raises(AlreadyExists, match=r"claim\.json"):
        store.put("claim.json", b"second", if_absent=True)
    assert store.get("claim.json") == b"first"


def test_if_absent_under_contention_has_one_winner(store: ObjectStore) -> None:
    winners: list[int] = []
    losers: list[int] = []
    barrier = threading.Barrier(6)

    def attempt(n: int) -> None:
        barrier.wait()
        try:
            store.put("race.json", str(n).encode(), if_absent=True)
            winners.append(n)
        except AlreadyExists:
            losers.append(n)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1
    assert len(losers) == 5
    assert store.get("race.json") == str(winners[0]).encode()


def test_url_for_is_readable_by_url_helpers(store: ObjectStore) -> None:
    store.put(f"{PAYLOAD_ID}/out.json", b"[1]")
    url = store.url_for(f"{PAYLOAD_ID}/out.json")
    assert url.startswith(store.url + "/")
    assert read_bytes(url) == b"[1]"
    assert read_json(url) == [1]


def test_url_helpers_write_read_list_delete(root_url: str) -> None:
    base = join_url(root_url, PAYLOAD_ID)
    write_json(join_url(base, "a.json"), {"k": "v"})
    write_bytes(join_url(base, "b.bin"), b"\x00\x01")
    assert read_json(join_url(base, "a.json")) == {"k": "v"}
    assert exists(join_url(base, "b.bin"))
    assert sorted(list_urls(base)) == [join_url(base, "a.json"), join_url(base, "b.bin")]
    delete(join_url(base, "b.bin"))
    assert not exists(join_url(base, "b.bin"))


def test_open_read_streams_chunks(store: ObjectStore) -> None:
    data = bytes(range(256)) * 1000
    store.put("blob.bin", data)
    with store.open_read("blob.bin") as reader:
        first = reader.read(1000)
        rest = reader.read()
    assert first + rest == data
    assert b"".join(store.iter_bytes("blob.bin", chunk_size=4096)) == data


def test_upload_and_download_files(root_url: str, tmp_path: Path) -> None:
    source = tmp_path / "in.bin"
    source.write_bytes(b"abc" * 1000)
    url = join_url(root_url, "files/in.bin")
    upload(source, url)
    target = tmp_path / "deep" / "er" / "out.bin"
    download(url, target)
    assert target.read_bytes() == source.read_bytes()


def test_upload_of_missing_file_is_storage_error(store: ObjectStore, tmp_path: Path) -> None:
    with pytest.raises(StorageError, match=r"nope\.bin"):
        store.upload_file(tmp_path / "nope.bin", "x.bin")


@pytest.mark.parametrize("key", ESCAPES)
def test_escaping_keys_are_refused_by_every_method(
    store: ObjectStore, key: str, tmp_path: Path
) -> None:
    for call in (
        lambda: store.put(key, b"x"),
        lambda: store.get(key),
        lambda: store.exists(key),
        lambda: store.delete(key),
        lambda: store.open_read(key),
        lambda: store.url_for(key),
        lambda: store.put_json(key, {}),
        lambda: store.download_file(key, tmp_path / "out"),
        lambda: list(store.list(key + "/x" if key else "../x")),
    ):
        with pytest.raises(PathEscapeError, match=r"allowed|relative"):
            call()


@pytest.mark.parametrize("part", ESCAPES)
def test_join_url_refuses_escaping_parts(root_url: str, part: str) -> None:
    with pytest.raises(PathEscapeError) as info:
        join_url(root_url, "coll", part)
    assert repr(part) in str(info.value)


def test_item_id_with_dotdot_cannot_write_outside_root(root_url: str, tmp_path: Path) -> None:
    with pytest.raises(PathEscapeError):
        write_json(join_url(root_url, "coll/workflow-x", "../../../etc/passwd"), {})
    outside = list(tmp_path.rglob("passwd"))
    assert outside == []


def test_open_store_reuses_the_same_store(root_url: str) -> None:
    assert open_store(root_url) is open_store(root_url)


def test_context_manager_closes(root_url: str) -> None:
    with open_store(root_url) as store:
        store.put("k", b"v")
        assert store.get("k") == b"v"


def test_put_many_writes_every_object(store: ObjectStore) -> None:
    objects = [(f"{PAYLOAD_ID}/run-{n}/input.json", b'{"n": %d}' % n) for n in range(5)]
    store.put_many(objects, content_type="application/json")
    assert {key: store.get(key) for key, _ in objects} == dict(objects)


def test_put_new_many_writes_only_where_nothing_is_stored(store: ObjectStore) -> None:
    store.put("old.json", b"kept", content_type="application/json")

    written = store.put_new_many(
        [("new.json", b"1"), ("old.json", b"2"), ("new.json", b"3")],
        content_type="application/json",
    )

    assert written == [True, False, False]  # a key given twice is written the first time
    assert (store.get("new.json"), store.get("old.json")) == (b"1", b"kept")


def test_put_new_many_with_a_bad_key_writes_nothing(store: ObjectStore) -> None:
    with pytest.raises(PathEscapeError):
        store.put_new_many([("good.json", b"1"), ("../bad.json", b"2")])
    assert not store.exists("good.json")


def test_put_many_with_a_bad_key_writes_nothing(store: ObjectStore) -> None:
    with pytest.raises(PathEscapeError):
        store.put_many([("good.json", b"1"), ("../bad.json", b"2")])
    assert not store.exists("good.json")
