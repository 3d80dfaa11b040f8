"""Streaming large objects with bounded memory, concurrent and cross-backend copies."""

from __future__ import annotations

import os
import subprocess
import sys
import tracemalloc
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from cirrus.errors import NotFound
from cirrus.storage import (
    MemoryStore,
    copy,
    copy_many,
    join_url,
    open_store,
    read_bytes,
    write_bytes,
)

SIZE = 20 * 1024 * 1024
LIMIT = 8 * 1024 * 1024  # well under the object size: nothing holds the whole object


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("big") / "big.bin"
    with path.open("wb") as out:
        for _ in range(SIZE // (1024 * 1024)):
            out.write(os.urandom(1024 * 1024))
    return path


def _peak(action: Callable[[], None]) -> int:
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("kind", ["path", "file", "memory"])
def test_upload_and_download_stream_with_bounded_memory(
    kind: str, big_file: Path, tmp_path: Path
) -> None:
    root = {
        "path": str(tmp_path / "root"),
        "file": (tmp_path / "root").as_uri(),
        "memory": f"memory://{uuid.uuid4().hex}",
    }[kind]
    store = open_store(root)
    upload_peak = _peak(lambda: store.upload_file(big_file, "big/big.bin"))
    target = tmp_path / "back.bin"
    download_peak = _peak(lambda: store.download_file("big/big.bin", target))
    assert target.read_bytes() == big_file.read_bytes()
    assert download_peak < LIMIT
    if kind != "memory":  # a memory store holds the object by design
        assert upload_peak < LIMIT


# Runs in a child process so the moto server's own memory does not count.
_S3_ROUND_TRIP = """
import re, sys
from cirrus.storage import copy, open_store
source, bucket, target = sys.argv[1:]
open_store(f"s3://{bucket}").upload_file(source, "up.bin")
copy(f"s3://{bucket}/up.bin", f"s3://{bucket}/copied.bin")
copy(f"s3://{bucket}/copied.bin", target)
open_store(f"s3://{bucket}").download_file("copied.bin", target + ".dl")
# VmHWM: this process's peak resident memory (ru_maxrss would include the forking parent's).
status = open("/proc/self/status").read()
print(int(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1)) * 1024)
"""


def _s3_round_trip_peak(source: Path, bucket: str, target: Path) -> int:
    result = subprocess.run(
        [sys.executable, "-c", _S3_ROUND_TRIP, str(source), bucket, str(target)],
        capture_output=True,
        text=True,
        check=False,
        env=dict(os.environ),
    )
    assert result.returncode == 0, result.stderr
    return int(result.stdout.split()[-1])


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_s3_upload_copy_download_stream_with_bounded_memory(
    s3_bucket: str, big_file: Path, tmp_path: Path
) -> None:
    bigger = tmp_path / "bigger.bin"
    with bigger.open("wb") as out:
        for _ in range(2):
            out.write(big_file.read_bytes())
    peak = _s3_round_trip_peak(big_file, s3_bucket, tmp_path / "big.out")
    peak_double = _s3_round_trip_peak(bigger, s3_bucket, tmp_path / "bigger.out")
    assert (tmp_path / "big.out").read_bytes() == big_file.read_bytes()
    assert (tmp_path / "big.out.dl").read_bytes() == big_file.read_bytes()
    assert (tmp_path / "bigger.out").stat().st_size == 2 * SIZE
    print(f"peak memory: 20 MB object {peak / 1e6:.1f} MB, 40 MB object {peak_double / 1e6:.1f} MB")
    # Memory is a few parts in flight, whatever the object size. Holding the object would add
    # at least 20 MB when doubling it; allocator noise between runs is a few MB.
    assert peak_double - peak < SIZE // 2


@pytest.mark.parametrize(
    ("src_kind", "dst_kind"),
    [("file", "s3"), ("s3", "memory"), ("memory", "file"), ("path", "s3")],
)
def test_copy_across_backends(src_kind: str, dst_kind: str, s3_bucket: str, tmp_path: Path) -> None:
    roots = {
        "file": (tmp_path / "f").as_uri(),
        "path": str(tmp_path / "p"),
        "s3": f"s3://{s3_bucket}/x",
        "memory": f"memory://{uuid.uuid4().hex}",
    }
    src = join_url(roots[src_kind], "coll/item/a.bin")
    dst = join_url(roots[dst_kind], "coll/item/a.bin")
    write_bytes(src, b"payload-bytes")
    copy(src, dst, content_type="application/octet-stream")
    assert read_bytes(dst) == b"payload-bytes"


def test_copy_many_copies_everything_concurrently(s3_bucket: str, tmp_path: Path) -> None:
    src_root = f"memory://{uuid.uuid4().hex}"
    pairs = []
    for n in range(40):
        src = join_url(src_root, f"in/{n}.json")
        write_bytes(src, f'{{"n": {n}}}'.encode())
        dst = join_url(
            f"s3://{s3_bucket}" if n % 2 else (tmp_path / "out").as_uri(), f"out/{n}.json"
        )
        pairs.append((src, dst))
    done = copy_many(pairs, max_workers=6)
    assert done == [dst for _, dst in pairs]
    for n, (_, dst) in enumerate(pairs):
        assert read_bytes(dst) == f'{{"n": {n}}}'.encode()


def test_copy_many_reports_the_first_failure_after_finishing_the_rest(tmp_path: Path) -> None:
    name = uuid.uuid4().hex
    write_bytes(f"memory://{name}/ok.bin", b"1")
    pairs = [
        (f"memory://{name}/missing.bin", f"memory://{name}/out/missing.bin"),
        (f"memory://{name}/ok.bin", f"memory://{name}/out/ok.bin"),
    ]
    with pytest.raises(NotFound, match=r"missing\.bin"):
        copy_many(pairs)
    assert read_bytes(f"memory://{name}/out/ok.bin") == b"1"
    MemoryStore.clear(name)


def test_copy_many_with_nothing_to_do() -> None:
    assert copy_many([]) == []
