"""Search filters, keyset cursors, CSV cells and allowed actions: pure rules, no database."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools

import pytest

from ctiserver.config import Config
from ctiserver.errors import InvalidInput
from ctiserver.workorders import forms, search
from ctiserver.workorders import settings as wo_settings
from ctiserver.workorders.lifecycle import (
    MOVES,
    Action,
    Command,
    Moved,
    Record,
    Role,
    Status,
    allowed_actions,
    transition,
)

SETTINGS = wo_settings.build(Config().workorders)
NOW = dt.datetime(2026, 12, 4, 8, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize("cell, shown", [
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"), ("+8613800138000", "'+8613800138000"),
    ("-1", "'-1"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"), ("a=b", "a=b"), ("重复收费", "重复收费"), (None, ""),
    (3, "3"),
])
def test_a_cell_that_would_start_a_formula_is_shown_as_text(cell: object, shown: str) -> None:
    assert search.safe_cell(cell) == shown


def test_csv_quotes_commas_quotes_and_line_breaks() -> None:
    text = search.csv_rows([{"ref": "WO-1", "request": 'a, "b"\nc', "notes": "=1+1"}], header=True)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == list(search.CSV_COLUMNS)
    one = dict(zip(rows[0], rows[1]))
    assert (one["ref"], one["request"], one["notes"], one["status"]) == ("WO-1", 'a, "b"\nc', "'=1+1", "")


def test_a_cursor_survives_the_round_trip_to_the_microsecond() -> None:
    at = dt.datetime(2026, 12, 4, 8, 0, 1, 123457, tzinfo=dt.UTC)
    flt = search.parse({"after": search.cursor_of(at, 42)}, SETTINGS, NOW)
    assert flt.after == (at, 42)


@pytest.mark.parametrize("params, field", [
    ({"q": "x"}, "q"), ({"q": "x" * 101}, "q"), ({"q": "two\nlines"}, "q"), ({"status": ""}, "status"),
    ({"status": "open"}, "status"), ({"category": "gossip"}, "category"), ({"department": "x"}, "department"),
    ({"handler": "a b"}, "handler"), ({"customer": "C 1"}, "customer"), ({"caller": "none"}, "caller"),
    ({"overdue": "maybe"}, "overdue"), ({"from": "2026-13-01"}, "from"), ({"due_to": "soon"}, "due_to"),
    ({"limit": "201"}, "limit"), ({"limit": "x"}, "limit"), ({"after": "1_2_3"}, "after"), ({"order": "x"}, "order"),
])
def test_each_bad_filter_is_refused_naming_it(params: dict, field: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        search.parse(params, SETTINGS, NOW)
    assert exc.value.field == field


def test_values_are_arguments_never_sql_text() -> None:
    evil = "x'); DROP TABLE work_orders; --"
    flt = search.parse({"q": evil, "status": "draft,closed", "from": "2026-12-01"}, SETTINGS, NOW)
    where, args = search.scoped(flt, "1001", ["cards"])
    sql, args = search.page_sql(where, args, None, 51)
    assert evil not in sql and "DROP" not in sql and evil in args
    assert "w.status IS NULL" in sql  # draft is also a call nobody wrote up
    assert args[-1] == 51 and args[-3:-1] == ["1001", ["cards"]]
    # days are counted in the working calendar's time zone (Asia/Shanghai by default)
    assert dt.datetime(2026, 11, 30, 16, 0, tzinfo=dt.UTC) in args


def test_missing_fields_follow_the_form_and_a_category_needs_its_sub_category() -> None:
    need = ("category", "request")
    assert forms.missing_fields({}, need, SETTINGS) == ["category", "request"]
    assert forms.missing_fields({"category": "complaint"}, need, SETTINGS) == ["subcategory", "request"]
    assert forms.missing_fields({"category": "praise", "request": "x"}, need, SETTINGS) == []
    assert forms.missing_fields({}, (), SETTINGS) == []


def test_the_form_says_which_categories_may_be_deferred_and_for_how_long() -> None:
    assert SETTINGS.deferrable() == {"fault_report": 30, "business_request": 30}
    cfg = Config().workorders
    with pytest.raises(ValueError, match="at most 30 working days"):
        wo_settings.build(type(cfg)(**{**cfg.__dict__, "deadlines": ("fault_report.deferred=31d",)}))


def test_allowed_actions_are_exactly_those_the_transition_takes() -> None:
    roles = list(Role)
    for status, deferred in itertools.product(Status, (False, True)):
        record = Record(status=status, version=3, department="cards", deferred=deferred)
        for n in range(len(roles) + 1):
            for held in itertools.combinations(roles, n):
                allowed = set(allowed_actions(record, held))
                for action in Action:
                    could = any(isinstance(transition(record, Command(action, "x", role, comment="c",
                                                                      department="cards", satisfaction="satisfied")),
                                           Moved) for role in held)
                    if action is Action.ASSIGN:  # assigning to the same department still moves
                        could = could or any((action, status) in MOVES and r in MOVES[(action, status)] for r in held)
                    assert (action in allowed) == could, (status, deferred, held, action)
