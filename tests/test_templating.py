"""path_template and payload templates."""

from __future__ import annotations

import json

import pytest

from cirrus.errors import PayloadError
from cirrus.templating import render_path_template, render_payload_template

ITEM = {
    "id": "S2B_17HQD_20201103_0_L2A",
    "collection": "sentinel-2-l2a",
    "properties": {"datetime": "2020-11-03T15:22:04Z", "mgrs:utm_zone": 17, "platform": "s2b"},
}


def test_every_variable() -> None:
    template = (
        "s3://b/${collection}/${mgrs:utm_zone}/${year}/${month}/${day}/${date}/${platform}/${id}"
    )
    assert render_path_template(template, ITEM) == (
        "s3://b/sentinel-2-l2a/17/2020/11/3/2020-11-03/s2b/S2B_17HQD_20201103_0_L2A"
    )


def test_start_datetime_is_used_when_datetime_is_null() -> None:
    item = {"id": "x", "properties": {"datetime": None, "start_datetime": "2021-01-02T00:00:00Z"}}
    assert render_path_template("${year}-${month}", item) == "2021-1"


def test_missing_variable_names_it() -> None:
    with pytest.raises(PayloadError, match=r"\$\{eo:cloud_cover\}.*S2B_17HQD"):
        render_path_template("s3://b/${eo:cloud_cover}", ITEM)


def test_payload_template_forms() -> None:
    text = '{"a": "$ONE", "b": "${TWO}", "c": "${THREE?fallback}", "d": "${FOUR?x}"}'
    rendered = render_payload_template(text, {"ONE": "1", "TWO": 'quote"d', "FOUR": "4"})
    assert json.loads(rendered) == {"a": "1", "b": 'quote"d', "c": "fallback", "d": "4"}


def test_payload_template_missing_variable() -> None:
    with pytest.raises(PayloadError, match=r"\$BUCKET has no value.*--var BUCKET"):
        render_payload_template('{"a": "${BUCKET}"}', {})


@pytest.mark.parametrize(
    "template",
    [
        pytest.param("${collection}/${year}/${month}/${day}/${id}", id="dates"),
        pytest.param("${date}/${mgrs:utm_zone}/${platform}", id="date-and-properties"),
        pytest.param("${view.sun}/${id}", id="dotted"),
    ],
)
def test_path_template_means_what_pystac_layout_template_means(template: str) -> None:
    from pystac import Item
    from pystac.layout import LayoutTemplate

    item = {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": "S2B_17HQD_20230105_0_L2A",
        "collection": "sentinel-2-l2a",
        "geometry": None,
        "links": [],
        "assets": {},
        "properties": {
            "datetime": "2023-01-05T15:02:11Z",
            "mgrs:utm_zone": 17,
            "platform": "s2b",
            "view": {"sun": 61},
        },
    }
    expected = LayoutTemplate(template).substitute(Item.from_dict(item))
    assert render_path_template(template, item) == expected


def test_payload_template_double_dollar_is_a_dollar() -> None:
    rendered = render_payload_template('{"price": "$$5", "a": "$A"}', {"A": "x"})
    assert json.loads(rendered) == {"price": "$5", "a": "x"}


def test_payload_template_silenced_errors_leave_the_variable() -> None:
    rendered = render_payload_template(
        '{"a": "${NOPE}", "b": "$B"}', {"B": "b"}, silence_errors=True
    )
    assert json.loads(rendered) == {"a": "${NOPE}", "b": "b"}


def test_payload_template_leaves_path_template_variables_for_the_workflow() -> None:
    text = json.dumps(
        {
            "process": [
                {
                    "workflow": "$WORKFLOW",
                    "upload_options": {"path_template": "s3://$BUCKET/${collection}/${id}"},
                }
            ]
        }
    )
    rendered = json.loads(render_payload_template(text, {"WORKFLOW": "w", "BUCKET": "b"}))
    assert rendered["process"][0] == {
        "workflow": "w",
        "upload_options": {"path_template": "s3://b/${collection}/${id}"},
    }
    with pytest.raises(PayloadError, match=r"\$COLLECTION has no value"):
        render_payload_template('{"c": "${COLLECTION}"}', {})
