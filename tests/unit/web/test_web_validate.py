"""The API's input checks: every refusal is an InvalidInput naming the field at fault."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from ctiserver.errors import InvalidInput
from ctiserver.web import validate as v


def refused(fn, *args, **kwargs) -> InvalidInput:
    with pytest.raises(InvalidInput) as info:
        fn(*args, **kwargs)
    return info.value


@pytest.mark.parametrize("raw, words", [
    (b"", "empty"),
    (b"   ", "empty"),
    (b"{not json", "malformed JSON"),
    (b"[1, 2]", "JSON object"),
    (b"\xff\xfe{}", "not UTF-8"),
    (b"{" + b" " * v.MAX_BODY_BYTES + b"}", "larger than"),
])
def test_a_body_must_be_one_json_object(raw: bytes, words: str) -> None:
    err = refused(v.parse_json_object, raw)
    assert words in err.message


def test_a_json_object_body_is_decoded_with_chinese_text() -> None:
    assert v.parse_json_object('{"text": "系统维护"}'.encode()) == {"text": "系统维护"}


def test_only_json_content_type_is_accepted_which_keeps_cross_site_forms_out() -> None:
    v.json_content_type("application/json")
    for kind in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data", ""):
        err = refused(v.json_content_type, kind)
        assert err.field == "Content-Type" and err.code == "unsupported_media_type"


FIELDS = {"state": v.Field(str), "reason": v.Field(str, required=False), "ttl": v.Field(int, required=False)}


def test_unknown_missing_and_mistyped_fields_are_named() -> None:
    assert refused(v.check_fields, {"state": "ready", "colour": "red"}, FIELDS).field == "colour"
    err = refused(v.check_fields, {"reason": "lunch"}, FIELDS)
    assert (err.field, err.code) == ("state", "missing_field")
    err = refused(v.check_fields, {"state": 3}, FIELDS)
    assert (err.field, err.code) == ("state", "wrong_type") and "a string" in err.message
    # JSON true is not a number even though Python's bool is an int.
    assert refused(v.check_fields, {"state": "ready", "ttl": True}, FIELDS).field == "ttl"
    assert v.check_fields({"state": "ready", "reason": None}, FIELDS) == {"state": "ready", "reason": None}


@pytest.mark.parametrize("value", ["a\r\nAction: Originate", "x\ny", "nul\x00", "tab\tbed", "line\u2028sep"])
def test_text_refuses_control_characters_that_would_reach_ami_or_logs(value: str) -> None:
    err = refused(v.text, value, "reason", max_len=64)
    assert err.field == "reason" and "control characters" in err.message


def test_text_is_trimmed_and_bounded() -> None:
    assert v.text("  午休  ", "reason", max_len=10) == "午休"
    assert refused(v.text, "   ", "reason", max_len=10).message == "reason must not be empty"
    assert "at most 3" in refused(v.text, "abcd", "reason", max_len=3).message
    assert refused(v.text, 12, "reason", max_len=3).code == "wrong_type"


def test_token_choice_integer() -> None:
    assert v.token("1001", "agent", pattern=r"[0-9]+", max_len=8, what="an agent id") == "1001"
    assert refused(v.token, "10 01", "agent", pattern=r"[0-9]+", max_len=8, what="an agent id").message \
        == "agent must be an agent id"
    assert v.choice("ready", "state", ("ready", "not_ready")) == "ready"
    err = refused(v.choice, "sleeping", "state", ("ready", "not_ready"))
    assert err.field == "state" and "ready, not_ready" in err.message
    assert v.integer("25", "limit", minimum=1, maximum=200) == 25
    assert v.integer(25, "limit", minimum=1, maximum=200) == 25
    assert "between 1 and 200" in refused(v.integer, "0", "limit", minimum=1, maximum=200).message
    assert refused(v.integer, "2.5", "limit", minimum=1, maximum=200).field == "limit"
    assert refused(v.integer, 2.5, "limit", minimum=1, maximum=200).code == "wrong_type"


def test_dates_and_times() -> None:
    assert v.iso_date("2026-11-23", "date") == date(2026, 11, 23)
    assert "real date" in refused(v.iso_date, "2026-02-30", "date").message
    assert refused(v.iso_date, "23/11/2026", "date").field == "date"
    parsed = v.iso_datetime("2026-11-23T17:30:00+08:00", "expires_at")
    assert parsed.utcoffset() == timedelta(hours=8)
    assert "timezone" in refused(v.iso_datetime, "2026-11-23T17:30:00", "expires_at").message
    assert refused(v.iso_datetime, "tomorrow", "expires_at").field == "expires_at"


def test_query_refuses_unknown_and_repeated_parameters() -> None:
    from multidict import MultiDict

    assert v.query(MultiDict([("date", "2026-11-23")]), ("date", "limit")) == {"date": "2026-11-23"}
    assert refused(v.query, MultiDict([("sort", "x")]), ("date", "limit")).field == "sort"
    assert refused(v.query, MultiDict([("limit", "1"), ("limit", "2")]), ("date", "limit")).field == "limit"
