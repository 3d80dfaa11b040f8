"""One validator at the door: identity, known workflows, where templates write, and the
same answer from ``cirrus payload validate``, ``process`` and ``run-workflow``."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cirrus.errors import PayloadError
from cirrus.runtime import Admission, IntakeLimits
from tests.runtime.conftest import Proj, item, payload, payload_id


def admit(data: dict[str, Any], **options: Any) -> str:
    options.setdefault("workflows", ["three", "stamp-only"])
    options.setdefault("data_root", "/data/catalog")
    return Admission(**options).admit(data).id


# ----------------------------------------------------------------------------- identity


def test_an_item_id_with_a_slash_cannot_share_a_payload_id_with_two_items() -> None:
    two = admit(payload(item("a"), item("b")))
    assert two == "test/workflow-three/a/b"
    with pytest.raises(PayloadError, match=r"\$.features\[0\].id.*'/'"):
        admit(payload(item("a/b")))


def test_a_collection_with_a_slash_cannot_pose_as_two() -> None:
    admit(payload(item("x", collection="c1"), item("y", collection="c2")))
    with pytest.raises(PayloadError, match=r"\$.features\[0\].collection"):
        admit(payload(item("x", collection="c1/c2"), item("y", collection="c1/c2")))
    with pytest.raises(PayloadError, match="input_collections"):
        admit(payload(item("x"), input_collections=["c1/c2"]))


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param("a\ud800", id="lone-surrogate"),
        pytest.param("a\x00b", id="nul"),
        pytest.param("a\nb", id="newline"),
        pytest.param("a\u202eb", id="bidi-override"),
        pytest.param("a\u200bb", id="zero-width-space"),
        pytest.param("..", id="dot-dot"),
        pytest.param("é" * 128, id="over-255-bytes"),
    ],
)
def test_ids_that_cannot_be_a_key_are_refused_at_intake(bad: str) -> None:
    with pytest.raises(PayloadError, match=r"\$.features\[0\].id"):
        admit(payload(item(bad)))


def test_the_id_byte_limit_is_a_setting() -> None:
    admit(payload(item("x" * 300)), limits=IntakeLimits(max_id_bytes=300))
    with pytest.raises(PayloadError, match="max_id_bytes"):
        admit(payload(item("x" * 300)))


def test_an_explicit_id_must_be_the_one_its_content_gives() -> None:
    data = payload(item("a"))
    data["id"] = payload_id("a")
    assert admit(data) == payload_id("a")
    data["id"] = payload_id("b")  # would shadow the real payload b
    with pytest.raises(PayloadError, match=r"\$.id.*give 'test/workflow-three/a'"):
        admit(data)


def test_an_explicit_id_without_items_must_name_the_payloads_workflow() -> None:
    data: dict[str, Any] = payload()
    data["id"] = "feed/workflow-three/2024-01-01"
    assert admit(data) == "feed/workflow-three/2024-01-01"
    data["id"] = "feed/workflow-stamp-only/2024-01-01"
    with pytest.raises(PayloadError, match="names workflow 'stamp-only'"):
        admit(data)


def test_too_many_features_are_refused() -> None:
    with pytest.raises(PayloadError, match="max_features"):
        admit(payload(item("a"), item("b"), item("c")), limits=IntakeLimits(max_features=2))


# ---------------------------------------------------------------------------- workflows


def test_an_unknown_workflow_is_refused_listing_the_known_ones() -> None:
    with pytest.raises(PayloadError, match=r"'nope'.*use one of: stamp-only, three"):
        admit(payload(item("a"), workflow="nope"))


def test_an_unknown_workflow_later_in_the_chain_is_refused_too() -> None:
    with pytest.raises(PayloadError, match=r"\$.process\[1\]\[0\].workflow"):
        admit(payload(item("a"), chain=[[{"workflow": "nope"}]]))


# ---------------------------------------------------------------------------- templates


@pytest.mark.parametrize(
    "template",
    [
        "/",
        "/abs/${id}",
        "file:///tmp/${id}",
        "sqlite:///tmp/x.db/${id}",
        "memory://",
        "memory://store/${id}",
        "s3://other-bucket/${collection}/${id}",
        "/data/catalog/../../etc/${id}",
        "../${id}",
        "a/../../${id}",
    ],
)
def test_a_template_writing_outside_the_roots_is_refused(template: str) -> None:
    data = payload(item("a"), upload_options={"path_template": template})
    with pytest.raises(PayloadError, match="path_template"):
        admit(data)


@pytest.mark.parametrize(
    "template",
    [
        "${collection}/${id}",
        "/data/catalog/${collection}/${id}",
        "file:///data/catalog/${id}",
        "s3://bucket/public/${year}/${id}",
    ],
)
def test_templates_under_the_data_root_or_an_allowed_root_are_accepted(template: str) -> None:
    data = payload(item("a"), upload_options={"path_template": template})
    assert admit(data, allowed_roots=["s3://bucket/public"])


def test_one_admission_gives_the_same_answer_for_a_template_every_time() -> None:
    # an admission remembers what it found of each template: a refusal is not forgotten
    admission = Admission(workflows=["three"], data_root="/data/catalog")
    for index in range(3):
        outside = payload(item(f"o{index}"), upload_options={"path_template": "/etc/${id}"})
        with pytest.raises(PayloadError, match="writes outside the data root"):
            admission.admit(outside)
        inside = payload(item(f"i{index}"), upload_options={"path_template": "${id}"})
        assert admission.admit(inside).id == payload_id(f"i{index}")


def test_templates_of_collection_options_and_chain_links_are_checked_too() -> None:
    outside = {"upload_options": {"path_template": "/elsewhere/${id}"}}
    with pytest.raises(PayloadError, match=r"collection_options.test.upload_options"):
        admit(payload(item("a"), collection_options={"test": outside}))
    with pytest.raises(PayloadError, match=r"\$.process\[1\].upload_options"):
        admit(payload(item("a"), chain=[{"workflow": "three", **outside}]))


# ---------------------------------------------------------- one validator, three commands

REFUSED: dict[str, dict[str, Any]] = {
    "slash": payload(item("a/b")),
    "surrogate": payload(item("a\ud800")),
    "workflow": payload(item("a"), workflow="nope"),
    "template": payload(item("a"), upload_options={"path_template": "/${id}"}),
    "shadow": {**payload(item("a")), "id": payload_id("b")},
    "reference": {"href": "/dev/zero"},
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_payload_validate_refuses_what_process_and_run_workflow_refuse(
    proj: Proj, case: str
) -> None:
    path = proj.root / f"{case}.json"
    path.write_text(json.dumps(REFUSED[case]))
    validate = proj.cirrus("payload", "validate", path.name, check=False)
    assert validate.returncode == 2, validate.stderr
    assert "Traceback" not in validate.stderr
    processed = proj.cirrus("process", path.name, "--wait", check=False)
    assert processed.returncode == 1 and processed.json().get("succeeded", 0) == 0
    assert processed.json()["rejected"] == 1
    run = proj.cirrus("run-workflow", path.name, check=False)
    assert run.returncode != 0 and run.stdout == ""
    assert proj.records() == {}, "a refused payload got a state record"


def test_payload_validate_accepts_what_process_runs(proj: Proj) -> None:
    path = proj.root / "ok.json"
    path.write_text(json.dumps(payload(item("a"), workflow="stamp-only")))
    validated = proj.cirrus("payload", "validate", "ok.json")
    assert "valid: test/workflow-stamp-only/a" in validated.stderr
    assert proj.cirrus("process", "ok.json", "--wait").json()["succeeded"] == 1


def test_a_batch_with_refused_payloads_loses_nothing_else(proj: Proj) -> None:
    good = [payload(item(f"g{n}"), workflow="stamp-only") for n in range(5)]
    mixed = [good[0], *REFUSED.values(), *good[1:]]
    path = proj.root / "mixed.ndjson"
    path.write_text("".join(json.dumps(each) + "\n" for each in mixed))
    summary = proj.cirrus("process", "mixed.ndjson", "--wait", check=False).json()
    assert (summary["succeeded"], summary["rejected"]) == (5, len(REFUSED))
    assert sorted(proj.records()) == sorted(payload_id(f"g{n}", "stamp-only") for n in range(5))
