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
        "s3://b/sentinel-2-l2a/17/2020/11/03/2020-11-03/s2b/S2B_17HQD_20201103_0_L2A"
    )


def test_start_datetime_is_used_when_datetime_is_null() -> None:
    item = {"id": "x", "properties": {"datetime": None, "start_datetime": "2021-01-02T00:00:00Z"}}
    assert render_path_template("${year}-${month}", item) == "2021-01"


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
