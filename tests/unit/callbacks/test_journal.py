"""The callbacks' journal: what a killed server left is read back, newest state per callback."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from ctiserver.callbacks import model as m
from ctiserver.callbacks.journal import CallbackJournal, JournalLocked, journal_path_for
from ctiserver.callbacks.model import Callback


def cb(i: str, updated: float, state: str = m.PENDING) -> Callback:
    return Callback(
        i, "support", "13800138000", 100.0, 130.0, state=state, updated_at=updated
    )


def test_it_lives_beside_the_store_journal_and_not_at_all_without_one():
    assert (
        journal_path_for("/var/cti/journal.jsonl") == "/var/cti/journal.callbacks.jsonl"
    )
    assert journal_path_for("") == ""


def test_a_reopened_journal_gives_each_callbacks_newest_state(tmp_path: Path):
    path = tmp_path / "j.jsonl"
    journal, replay = CallbackJournal.open(path)
    assert replay == []
    a = cb("a", 1.0)
    journal.append(a)
    journal.append(cb("b", 1.0))
    journal.append(replace(a, state=m.RINGING, agent_id="1001", updated_at=2.0))
    journal.close()  # as a killed process leaves it: nothing acknowledged, nothing truncated
    again, replay = CallbackJournal.open(path)
    assert {c.id: (c.state, c.agent_id) for c in replay} == {
        "a": ("ringing", "1001"),
        "b": ("pending", ""),
    }
    again.close()
    assert len(path.read_bytes().splitlines()) == 2  # rewritten with just those


def test_a_torn_last_line_is_skipped_and_a_foreign_one_kept_aside(tmp_path: Path):
    path = tmp_path / "j.jsonl"
    good = json.dumps({"cb": cb("a", 1.0).to_json()})
    path.write_text(
        good
        + "\n"
        + json.dumps({"cb": {"id": "x", "colour": "red"}})
        + "\n"
        + good[:40]
    )
    journal, replay = CallbackJournal.open(path)
    journal.close()
    assert [c.id for c in replay] == ["a"]
    assert "colour" in (tmp_path / "j.jsonl.rejected").read_text()


def test_a_truncated_journal_replays_nothing(tmp_path: Path):
    path = tmp_path / "j.jsonl"
    journal, _ = CallbackJournal.open(path)
    journal.append(cb("a", 1.0))
    journal.truncate()  # everything written to PostgreSQL
    journal.close()
    again, replay = CallbackJournal.open(path)
    again.close()
    assert replay == []


def test_one_server_per_journal(tmp_path: Path):
    journal, _ = CallbackJournal.open(tmp_path / "j.jsonl")
    try:
        with pytest.raises(JournalLocked):
            CallbackJournal.open(tmp_path / "j.jsonl")
    finally:
        journal.close()
