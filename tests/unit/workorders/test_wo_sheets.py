"""The work orders the service holds: found by any of their names, answered in the API's shape,
and out of the garbage collector's walk (a busy day holds 20,000 of them)."""

from __future__ import annotations

import datetime as dt
import gc

from ctiserver.workorders.sheets import Sheets, to_json


def _sheets(size: int = 20_000) -> Sheets:
    return Sheets(can_evict=lambda: True, size=size)


def test_a_held_row_is_found_by_linkedid_id_and_reference() -> None:
    sheets = _sheets()
    sheets.put({"linkedid": "1700000000.1", "id": 7, "ref": "WO-20261204-0007", "version": 1})
    assert sheets.get("1700000000.1") is sheets.get(7) is sheets.get("wo-20261204-0007")


def test_the_api_shape_keeps_lists_and_iso_times() -> None:
    sheets = _sheets()
    sheets.put({"linkedid": "1700000000.1", "version": 1, "ivr_path": ["main", "support"],
                "created_at": 1_796_000_000.0})
    sheets.update("1700000000.1", {"ivr_path": ["main", "support", "voicemail"]})
    out = to_json(sheets.get("1700000000.1"))
    assert out["ivr_path"] == ["main", "support", "voicemail"]
    assert out["created_at"] == dt.datetime.fromtimestamp(1_796_000_000.0, dt.timezone.utc).isoformat()
    assert out["status"] == "draft" and out["channel"] == "call"


def test_held_rows_leave_the_collectors_walk() -> None:
    """A full collection walks every tracked object; a row of atomic values is not tracked."""
    sheets = _sheets()
    for n in range(50):
        sheets.put({"linkedid": f"1700000000.{n}", "id": n, "version": 1, "ivr_path": ["main", "support"],
                    "created_at": dt.datetime.now(dt.timezone.utc), "summary": "billing question"})
        sheets.update(f"1700000000.{n}", {"ivr_path": ["main", "support", "voicemail"], "version": 2})
    gc.collect()
    tracked = [n for n in range(50) if gc.is_tracked(sheets.get(f"1700000000.{n}"))]
    assert tracked == []


def test_the_oldest_rows_go_only_when_the_writer_has_caught_up() -> None:
    pending = [True]
    sheets = Sheets(can_evict=lambda: not pending[0], size=2)
    for n in range(3):
        sheets.put({"linkedid": f"1700000000.{n}", "version": 1})
    assert len(sheets) == 3  # PostgreSQL may lack the oldest: kept
    pending[0] = False
    sheets.put({"linkedid": "1700000000.3", "version": 1})
    assert len(sheets) == 2 and sheets.get("1700000000.0") is None and sheets.get("1700000000.3") is not None
