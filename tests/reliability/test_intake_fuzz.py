"""Property-based fuzzing of payload intake (hypothesis).

Every generated input is either admitted or refused with a clear one-line error; in a
batch, nothing else is affected; and no file appears outside the roots, whatever the
payload's ids and ``path_template`` say.

The default profile is short (CI). A longer run::

    CIRRUS_FUZZ_EXAMPLES=2000 pytest tests/reliability/test_intake_fuzz.py
"""

from __future__ import annotations

import io
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cirrus.errors import NotFound, PayloadError
from cirrus.project import find_project
from cirrus.runtime import Admission, IntakeLimits, Pipeline
from cirrus.runtime.jobs import execution_key
from cirrus.state import State
from tests.runtime.conftest import item, payload, project_template

__all__ = ["project_template"]  # the runtime tests' project, made once per run

EXAMPLES = int(os.environ.get("CIRRUS_FUZZ_EXAMPLES", "60"))
"""Examples per property; the pipeline property runs a fifth of them (each is a batch)."""

OUTSIDE = Path("/tmp") / f"cirrus-fuzz-outside-{uuid.uuid4().hex}"
"""A folder no payload may write into: hostile templates point here."""

NASTY_NAMES = [
    "a/b",
    "..",
    ".",
    "",
    "\ud800",
    "a\udfff",
    "a\x00b",
    "line\nbreak",
    "\u202eevil",
    "zero\u200bwidth",
    "x" * 300,
    "é" * 200,
    "../../../../tmp/escaped",
    "back\\slash",
    "C:",
]

names = st.one_of(
    st.sampled_from(NASTY_NAMES),
    st.text(st.characters(exclude_categories=()), max_size=12),
    st.from_regex(r"[A-Za-z0-9_-]{1,12}", fullmatch=True),
)

templates = st.sampled_from(
    [
        None,
        "${collection}/${id}",
        "${id}",
        "/",
        "/${id}",
        f"{OUTSIDE}/${{id}}",
        f"file://{OUTSIDE}/${{collection}}/${{id}}",
        f"sqlite://{OUTSIDE}/x.db/${{id}}",
        "memory://",
        "memory://anywhere/${id}",
        "../${id}",
        "a/../../${id}",
        "${id}/../../..",
        "s3://some-bucket/${id}",
    ]
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(st.characters(exclude_categories=()), max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=12,
)


@st.composite
def payloads(draw: st.DrawFn) -> dict[str, Any]:
    """Payload-shaped dicts with hostile ids, collections, workflows, templates, values."""
    features = []
    for _ in range(draw(st.integers(0, 3))):
        feature: dict[str, Any] = {"type": "Feature", "id": draw(names)}
        collection = draw(st.none() | names)
        if collection is not None:
            feature["collection"] = collection
        feature["properties"] = {"value": draw(json_values)}
        features.append(feature)
    definition: dict[str, Any] = {
        "workflow": draw(st.sampled_from(["stamp-only", "nope", "a/b", "\ud800"]) | names)
    }
    template = draw(templates)
    if template is not None:
        definition["upload_options"] = {"path_template": template}
    data: dict[str, Any] = {"type": "FeatureCollection", "features": features}
    data["process"] = [definition, *draw(st.lists(st.just({"workflow": "nope"}), max_size=1))]
    explicit = draw(st.none() | names | st.just("c/workflow-stamp-only/x"))
    if explicit is not None:
        data["id"] = explicit
    return data


def deep(depth: int) -> str:
    return '{"type": "FeatureCollection", "x": ' + "[" * depth + "]" * depth + "}"


@st.composite
def lines(draw: st.DrawFn) -> str:
    """One line of NDJSON as a user or feeder might send it, broken in any way."""
    kind = draw(st.sampled_from(["payload", "truncated", "text", "deep", "value", "reference"]))
    if kind == "payload":
        return json.dumps(draw(payloads()))
    if kind == "truncated":
        text = json.dumps(draw(payloads()))
        return text[: draw(st.integers(0, max(0, len(text) - 1)))]
    if kind == "deep":
        return deep(draw(st.sampled_from([101, 980, 5000, 100_000])))
    if kind == "value":
        return json.dumps(draw(json_values))
    if kind == "reference":
        target = draw(st.sampled_from(["/dev/zero", "/dev/null", str(OUTSIDE), "/nonexistent"]))
        return json.dumps({"url": target})
    return draw(st.text(st.characters(exclude_categories=("Cs",)), max_size=40))


def _admission() -> Admission:
    return Admission(IntakeLimits(), workflows=["stamp-only"], data_root="/srv/data")


def _check_admitted(admitted: Any) -> None:
    """What an admitted payload promises: safe ids and storage keys."""
    execution_key(admitted.id, "x", "input.json")
    for feature in admitted.features:
        assert "/" not in feature["id"] and feature["id"].isprintable()
        assert len(feature["id"].encode()) <= 255


@settings(max_examples=EXAMPLES * 4, deadline=None)
@given(lines())
def test_every_input_is_admitted_or_refused_with_a_one_line_error(line: str) -> None:
    try:
        admitted = _admission().admit_text(line, "input line 1")
    except (PayloadError, NotFound) as err:  # NotFound: a reference to nothing
        message = str(err)
        assert message and "\n" not in message.strip(), message
        message.encode()  # a message can always be written out (no lone surrogate)
        return
    _check_admitted(admitted)


# ------------------------------------------------------------------- in a real pipeline


@pytest.fixture(scope="module")
def pipeline(project_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    root = tmp_path_factory.mktemp("fuzz") / "proj"
    shutil.copytree(project_template, root)
    OUTSIDE.mkdir(parents=True, exist_ok=True)
    with Pipeline.for_project(find_project(explicit=root), time_scale=0) as opened:
        yield opened
    leftovers = list(OUTSIDE.rglob("*"))
    shutil.rmtree(OUTSIDE, ignore_errors=True)
    assert leftovers == [], f"files written outside the roots: {leftovers}"


@settings(
    max_examples=max(10, EXAMPLES // 3),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(fuzzed=lines())
def test_a_fuzzed_line_costs_nothing_else_in_its_batch(pipeline: Pipeline, fuzzed: str) -> None:
    tag = uuid.uuid4().hex[:12]
    good = [payload(item(f"{tag}-{n}"), workflow="stamp-only") for n in range(2)]
    text = json.dumps(good[0]) + "\n" + fuzzed.replace("\n", " ") + "\n" + json.dumps(good[1])
    report = pipeline.submit_stream(io.StringIO(text + "\n"), "fuzz")
    counts = pipeline.drain()
    for each in good:
        record = pipeline.db.get(f"test/workflow-stamp-only/{each['features'][0]['id']}")
        assert record is not None and record.state is State.SUCCEEDED, (fuzzed, report.rejected)
    assert pipeline.queue.counts() == (0, 0)
    assert not pipeline.db.query(state=State.PROCESSING).records
    assert not pipeline.db.query(state=State.CLAIMED).records
    assert counts["succeeded"] >= 2, (fuzzed, report.rejected, counts)
    assert not any(OUTSIDE.iterdir()), f"{fuzzed!r} wrote outside the roots"
