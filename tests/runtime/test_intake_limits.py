"""Bounded input: size, depth, strict JSON, NDJSON line by line, and bounded reference reads.

Each refusal is a clear error naming the setting to change; nothing else in the input is
lost. References are read from real files, FIFOs and devices, and from real HTTP servers on
127.0.0.1 (one that trickles a byte every few seconds, one that refuses connections).
"""

from __future__ import annotations

import io
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from cirrus.errors import PayloadError
from cirrus.runtime import Admission, IntakeLimits
from cirrus.runtime.intake import read_documents
from cirrus.runtime.limits import parse_payload_text
from tests.runtime.conftest import Proj, item, payload


def nested(depth: int) -> str:
    """JSON text nesting objects ``depth`` levels deep."""
    return '{"a":' * depth + "1" + "}" * depth


# ------------------------------------------------------------------------- payload text


def test_a_payload_deeper_than_the_limit_is_refused_naming_the_setting() -> None:
    limits = IntakeLimits(max_depth=20)
    assert parse_payload_text(nested(20), limits) is not None
    with pytest.raises(PayloadError, match=r"more than 20 levels deep.*max_payload_depth"):
        parse_payload_text(nested(21), limits)


def test_nesting_too_deep_for_the_interpreter_is_a_clear_error_not_a_recursion_error() -> None:
    with pytest.raises(PayloadError, match="levels deep"):
        parse_payload_text("[" * 200_000 + "]" * 200_000, IntakeLimits())


def test_brackets_inside_strings_do_not_count_as_depth() -> None:
    text = json.dumps({"s": "[" * 500 + '\\"{' * 100})
    assert parse_payload_text(text, IntakeLimits(max_depth=2)) == json.loads(text)


def test_a_payload_larger_than_the_limit_is_refused() -> None:
    limits = IntakeLimits(max_payload_bytes=100)
    with pytest.raises(PayloadError, match="max_payload_bytes"):
        parse_payload_text(json.dumps({"x": "é" * 60}), limits)  # 120 bytes, 60 characters


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json(constant: str) -> None:
    with pytest.raises(PayloadError, match="not JSON"):
        parse_payload_text(f'{{"value": {constant}}}', IntakeLimits())


# ------------------------------------------------------------------------------ NDJSON


def _lines(count: int) -> list[str]:
    return [json.dumps(payload(item(f"i{n}"))) + "\n" for n in range(count)]


def test_a_truncated_first_line_costs_only_itself() -> None:
    good = _lines(50)
    text = good[0][:40] + "\n" + "".join(good[1:])
    documents = list(read_documents(io.StringIO(text), "in"))
    assert documents[0].payload is None and "in line 1" in str(documents[0].error)
    assert [d.payload["features"][0]["id"] for d in documents[1:]] == [
        f"i{n}" for n in range(1, 50)
    ]


def test_a_byte_order_mark_before_the_first_line_is_ignored() -> None:
    documents = list(read_documents(io.StringIO("\ufeff" + "".join(_lines(3))), "in"))
    assert [d.error for d in documents] == [None, None, None]


def test_a_pretty_printed_document_is_still_read_as_one() -> None:
    text = json.dumps([payload(item("a")), payload(item("b"))], indent=2)
    documents = list(read_documents(io.StringIO(text), "in"))
    assert [d.payload["features"][0]["id"] for d in documents if d.payload] == ["a", "b"]


def test_a_line_too_deep_is_refused_and_the_rest_read() -> None:
    text = "".join(_lines(2)) + nested(500) + "\n" + "".join(_lines(1))
    documents = list(read_documents(io.StringIO(text), "in", IntakeLimits(max_depth=50)))
    assert [d.error is None for d in documents] == [True, True, False, True]
    assert "in line 3" in str(documents[2].error)


# -------------------------------------------------------------------------- references


def _admission(**limits: Any) -> Admission:
    return Admission(IntakeLimits(**limits))


def test_a_reference_to_a_device_is_refused_before_it_is_read() -> None:
    started = time.monotonic()
    with pytest.raises(PayloadError, match="FIFO, socket or device"):
        _admission().admit({"url": "/dev/zero"})
    assert time.monotonic() - started < 5


def test_a_reference_to_a_fifo_without_a_writer_is_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "payload.fifo"
    os.mkfifo(fifo)
    started = time.monotonic()
    with pytest.raises(PayloadError, match="FIFO"):
        _admission().admit({"href": str(fifo)})
    assert time.monotonic() - started < 5


def test_a_reference_to_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PayloadError, match="folder"):
        _admission().admit({"url": tmp_path.as_uri()})


def test_a_reference_larger_than_the_limit_is_refused(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    big.write_text(json.dumps(payload(item("a"), note="x" * 5000)))
    with pytest.raises(PayloadError, match="reference_max_bytes"):
        _admission(reference_max_bytes=1000).admit({"url": str(big)})


def test_a_referenced_payload_is_held_to_the_same_limits(tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text(nested(300))
    with pytest.raises(PayloadError, match="levels deep"):
        _admission(max_depth=100).admit({"url": str(deep)})


class _Trickle(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps(payload(item("slow"))).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        for byte in body:
            self.wfile.write(bytes([byte]))
            self.wfile.flush()
            time.sleep(1.5)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def trickling_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Trickle)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/payload.json"
    server.shutdown()
    server.server_close()


def test_a_server_that_trickles_is_cut_off_at_the_time_limit(trickling_server: str) -> None:
    started = time.monotonic()
    with pytest.raises(PayloadError, match=r"within 3 s.*reference_timeout_seconds"):
        _admission(reference_timeout_seconds=3).admit({"url": trickling_server})
    assert time.monotonic() - started < 8


def test_a_refused_connection_is_an_error_at_once() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(PayloadError, match="cannot be reached"):
        _admission().admit({"url": f"http://127.0.0.1:{port}/payload.json"})
    assert time.monotonic() - started < 5


def test_a_refused_reference_is_rejected_by_the_worker_at_once_and_the_batch_goes_on(
    proj: Proj, open_pipeline: Any
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    pipeline = open_pipeline()
    pipeline.submit(
        [
            {"url": "/dev/zero"},
            {"url": f"http://127.0.0.1:{port}/payload.json"},
            payload(item("ok"), workflow="stamp-only"),
        ]
    )
    started = time.monotonic()
    counts = pipeline.drain()
    assert counts == {"rejected": 2, "succeeded": 1}
    assert time.monotonic() - started < 30, "a refused connection was retried for minutes"


def test_two_bad_first_lines_still_leave_the_rest_read() -> None:
    good = _lines(20)
    text = good[0][:30] + "\n" + good[1][:50] + "\n" + "".join(good[2:])
    documents = list(read_documents(io.StringIO(text), "in"))
    assert [d.error is None for d in documents] == [False, False] + [True] * 18
    assert "in line 2" in str(documents[1].error)


def test_a_line_longer_than_the_limit_is_never_held_whole() -> None:
    huge = json.dumps(payload(item("huge"), note="x" * 50_000))
    text = "".join(_lines(2)) + huge + "\n" + "".join(_lines(1))
    documents = list(read_documents(io.StringIO(text), "in", IntakeLimits(max_payload_bytes=5000)))
    assert [d.error is None for d in documents] == [True, True, False, True]
    assert "in line 3 is longer than max_payload_bytes (5000)" in str(documents[2].error)
    assert len(documents[2].raw or "") <= 1000, "the oversized line was kept whole"


def test_an_oversized_first_line_costs_only_itself() -> None:
    huge = json.dumps(payload(item("huge"), note="x" * 50_000))
    text = huge + "\n" + "".join(_lines(3))
    documents = list(read_documents(io.StringIO(text), "in", IntakeLimits(max_payload_bytes=5000)))
    assert [d.error is None for d in documents] == [False, True, True, True]


def test_an_id_too_long_for_s3_keys_is_refused_only_under_an_s3_root() -> None:
    from cirrus.runtime.jobs import S3_MAX_KEY_BYTES, check_key_room, execution_key, execution_name

    items = "/".join(f"item-{n:04d}" for n in range(100))
    long_id = f"c/workflow-w/{items}"
    key = f"deploy/{execution_key(long_id, execution_name(long_id, 1), 'history.json')}"
    assert len(key) > S3_MAX_KEY_BYTES  # the test means something

    with pytest.raises(PayloadError, match="split the payload into payloads of fewer items"):
        check_key_room("s3://bucket/deploy", long_id)
    check_key_room("sqlite:///tmp/payloads.db", long_id)  # no such limit there
    short_id = "c/workflow-w/item-0001"
    check_key_room("s3://bucket/deploy", short_id)
    fits = S3_MAX_KEY_BYTES - len(
        f"deploy/{execution_key(short_id, execution_name(short_id, 1), 'history.json')}"
    )
    check_key_room("s3://bucket/deploy", short_id + "x" * fits)  # the longest key is 1,024
    with pytest.raises(PayloadError):
        check_key_room("s3://bucket/deploy", short_id + "x" * (fits + 1))
