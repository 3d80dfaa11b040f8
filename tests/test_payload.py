"""The payload model: validation, ids, chaining."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from cirrus.errors import PayloadError
from cirrus.payload import Payload, make_payload_id, parse_payload_id


def payload(**process: Any) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "features": [{"id": "S2B_17HQD_20201103_0_L2A", "collection": "sentinel-s2-l2a"}],
        "process": [{"workflow": "cog-archive", **process}],
    }


def test_id_of_one_item() -> None:
    assert Payload.from_dict(payload()).id == (
        "sentinel-s2-l2a/workflow-cog-archive/S2B_17HQD_20201103_0_L2A"
    )


def test_id_sorts_collections_and_items() -> None:
    data = payload()
    data["features"] = [
        {"id": "b-item", "collection": "zeta"},
        {"id": "a-item", "collection": "alpha"},
    ]
    assert Payload.from_dict(data).id == "alpha/zeta/workflow-cog-archive/a-item/b-item"


def test_same_items_in_any_order_give_the_same_id() -> None:
    first = [{"id": "x"}, {"id": "y"}]
    assert make_payload_id(first, "w") == make_payload_id(list(reversed(first)), "w")
    assert make_payload_id(first, "w") == "none/workflow-w/x/y"


def test_input_collections_override_item_collections() -> None:
    model = Payload.from_dict(payload(input_collections=["c2", "c1"]))
    assert model.id.startswith("c2/c1/workflow-cog-archive/")


def test_explicit_id_is_kept() -> None:
    data = payload()
    data["id"] = "custom/workflow-x/abc"
    assert Payload.from_dict(data).id == "custom/workflow-x/abc"


def test_parse_payload_id_round_trip() -> None:
    assert parse_payload_id("a/b/workflow-w/i1/i2") == ("a/b", "w", "i1/i2")
    with pytest.raises(PayloadError, match="workflow-"):
        parse_payload_id("no-workflow-part")


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        pytest.param(lambda d: d.pop("process"), r"\$\.process is required", id="no-process"),
        pytest.param(lambda d: d.update(process=[]), r"\$\.process is empty", id="empty-process"),
        pytest.param(
            lambda d: d["process"][0].pop("workflow"),
            r"\$\.process\[0\]\.workflow is required",
            id="no-workflow",
        ),
        pytest.param(
            lambda d: d["features"].append({"collection": "c"}),
            r"\$\.features\[1\]\.id is required",
            id="feature-without-id",
        ),
        pytest.param(
            lambda d: d.update(features={}), r"\$\.features must be a list", id="features-object"
        ),
        pytest.param(
            lambda d: d["process"][0].update(upload_options={"path_template": 3}),
            r"path_template must be a string",
            id="bad-template",
        ),
        pytest.param(
            lambda d: d["process"][0].update(
                collection_matchers=[{"type": "catch_all", "collection_name": "x"}],
                upload_options={"collections": {"x": "$"}},
            ),
            "cannot be combined",
            id="matchers-and-legacy",
        ),
        pytest.param(
            lambda d: d["process"].append({"tasks": {}}),
            r"\$\.process\[1\]\.workflow is required",
            id="bad-chain-link",
        ),
        pytest.param(
            lambda d: d["process"].append([{"workflow": "a"}, {"workflow": "b/c"}]),
            r"\$\.process\[1\]\[1\]\.workflow is 'b/c'",
            id="bad-chain-branch",
        ),
        pytest.param(
            lambda d: d["features"].insert(0, "S2B"),
            r"\$\.features\[0\] must be a STAC Item object, not str",
            id="feature-not-object",
        ),
        pytest.param(
            lambda d: d["features"][0].update(id=""),
            r"\$\.features\[0\]\.id is required",
            id="empty-item-id",
        ),
        pytest.param(
            lambda d: d["process"][0].update(tasks={"copy": {}, "publish": True}),
            r"\$\.process\[0\]\.tasks\.publish must be an object of parameters, not bool",
            id="task-parameters-not-object",
        ),
        pytest.param(
            lambda d: d["process"][0].update(tasks="copy"),
            r"\$\.process\[0\]\.tasks must be an object keyed by task name",
            id="tasks-string",
        ),
        pytest.param(
            lambda d: d["process"][0].update(workflow_options=[]),
            r"\$\.process\[0\]\.workflow_options must be an object, not list",
            id="workflow-options-list",
        ),
        pytest.param(
            lambda d: d["process"][0].update(replace="yes"),
            r"\$\.process\[0\]\.replace must be true or false, not str",
            id="replace-string",
        ),
        pytest.param(
            lambda d: d["process"][0].update(collection_matchers=[{"collection_name": "a"}]),
            r"\$\.process\[0\]\.collection_matchers\[0\]\.pattern is required",
            id="matcher-without-pattern",
        ),
        pytest.param(
            lambda d: d["process"][0].update(
                collection_options={"c": {"upload_options": {"public_assets": "all"}}}
            ),
            r"\$\.process\[0\]\.collection_options\.c\.upload_options\.public_assets must be",
            id="collection-upload-option",
        ),
        pytest.param(
            lambda d: d["process"][0].update(upload_options=[]),
            r"\$\.process\[0\]\.upload_options must be an object, not list",
            id="upload-options-list",
        ),
        pytest.param(lambda d: d.update(id=7), r"\$\.id must be a string", id="id-number"),
    ],
)
def test_validation_errors_name_the_field(mutate: Any, field: str) -> None:
    data = payload()
    mutate(data)
    with pytest.raises(PayloadError, match=field):
        Payload.from_dict(data)


def test_single_process_object_is_wrapped_with_a_warning() -> None:
    data = payload()
    data["process"] = data["process"][0]
    with pytest.warns(DeprecationWarning, match="wrap it in a list"):
        model = Payload.from_dict(data)
    assert model["process"] == [{"workflow": "cog-archive"}]


def test_from_dict_does_not_change_its_input() -> None:
    data = payload()
    before = copy.deepcopy(data)
    Payload.from_dict(data).to_dict()["features"].clear()
    assert data == before


def test_task_parameters_merge_workflow_options_under_task_options() -> None:
    model = Payload.from_dict(
        payload(workflow_options={"a": 1, "b": 1}, tasks={"t": {"b": 2, "c": 3}})
    )
    assert model.process_definition.task_parameters("t") == {"a": 1, "b": 2, "c": 3}
    assert model.process_definition.task_parameters("other") == {"a": 1, "b": 1}


def test_collection_options_override_global_upload_options() -> None:
    model = Payload.from_dict(
        payload(
            upload_options={"path_template": "s3://a/${id}", "public_assets": True},
            collection_options={"special": {"upload_options": {"path_template": "s3://b/${id}"}}},
        )
    )
    definition = model.process_definition
    assert definition.upload_options_for("special") == {
        "path_template": "s3://b/${id}",
        "public_assets": True,
    }
    assert definition.upload_options_for("other")["path_template"] == "s3://a/${id}"


def test_next_payloads_pops_the_process_and_drops_the_id() -> None:
    data = payload()
    data["id"] = "explicit"
    data["process"].append({"workflow": "next"})
    data["process"].append({"workflow": "after"})
    (following,) = Payload.from_dict(data).next_payloads()
    assert "id" not in following
    assert [p["workflow"] for p in following["process"]] == ["next", "after"]
    assert following["features"] == data["features"]


def test_chain_branches_with_filter() -> None:
    data = payload()
    data["features"] = [{"id": "keep-1"}, {"id": "drop"}, {"id": "keep-2"}]
    data["process"].append(
        [
            {"workflow": "everything"},
            {"workflow": "filtered", "chain_filter": "@.id =~ 'keep-.*'"},
            {"workflow": "nothing", "chain_filter": "@.id == 'absent'"},
        ]
    )
    branches = Payload.from_dict(data).next_payloads()
    assert [b["process"][0]["workflow"] for b in branches] == ["everything", "filtered"]
    assert [f["id"] for f in branches[1]["features"]] == ["keep-1", "keep-2"]


def test_last_link_has_no_next_payload() -> None:
    assert Payload.from_dict(payload()).next_payloads() == []


def test_a_bad_chain_filter_is_refused_on_the_way_in() -> None:
    data = payload()
    data["process"].append({"workflow": "next", "chain_filter": "@@@"})
    with pytest.raises(PayloadError, match=r"\$\.process\[1\]\.chain_filter is not a valid"):
        Payload.from_dict(data)
