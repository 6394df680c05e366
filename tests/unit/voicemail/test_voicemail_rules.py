"""Voicemail rules without a server: what a VM_MESSAGEFILE may name, the spool's .txt, where a
file may be read from, and who may claim, release, close and play a message."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctiserver.errors import Conflict, Forbidden, InvalidInput
from ctiserver.voicemail import model as m
from ctiserver.voicemail import spool

TXT = """;
; Message Information file
;
[message]
origmailbox=2000
context=ivr
macrocontext=
exten=s
rdnis=unknown
priority=1
callerchan=PJSIP/caller-00000003
callerid="Zhang Wei" <13800138000>
origdate=Fri Dec  4 08:00:00 AM UTC 2026
origtime=1796371200
category=
msg_id=1796371200-00000000
flag=
duration=7
"""


def test_only_a_spool_message_path_is_understood():
    got = spool.parse_message_file(
        "/var/spool/asterisk/voicemail/default/2000/INBOX/msg0003"
    )
    assert (
        got == spool.MessageFile("default", "2000", "INBOX", "msg0003")
        and got.mailbox == "2000@default"
    )
    for bad in (
        "IMAP_STORAGE",
        "/tmp/x",
        "/v/default/2000/INBOX/../../etc/passwd",
        "/v/def ault/2000/INBOX/msg0001",
        "/v/default/2000/INBOX/msg1",
        "/v/default/../INBOX/msg0001",
        "",
    ):
        assert spool.parse_message_file(bad) is None, bad


def test_the_txt_gives_caller_time_and_length(tmp_path: Path):
    where = spool.MessageFile("default", "2000", "INBOX", "msg0000")
    assert (
        spool.metadata(tmp_path, where) == {}
    )  # the spool is on another host: nothing, no error
    inbox = tmp_path / "default" / "2000" / "INBOX"
    inbox.mkdir(parents=True)
    (inbox / "msg0000.txt").write_text(TXT)
    assert spool.metadata(tmp_path, where) == {
        "caller_number": "13800138000",
        "caller_name": "Zhang Wei",
        "left_at": 1796371200,
        "seconds": 7,
    }
    (inbox / "msg0000.txt").write_text(TXT.replace('"Zhang Wei" <13800138000>', "caller"))  # trace 24's form
    assert spool.metadata(tmp_path, where)["caller_number"] == "caller"
    (inbox / "msg0000.txt").write_text("not an ini file [")
    assert spool.metadata(tmp_path, where) == {}


def test_files_are_only_read_inside_the_spool(tmp_path: Path):
    inside = spool.path_of(
        tmp_path, spool.MessageFile("default", "2000", "INBOX", "msg0000"), "wav"
    )
    assert inside == (tmp_path / "default" / "2000" / "INBOX" / "msg0000.wav").resolve()
    assert (
        spool.path_of(
            tmp_path, spool.MessageFile("default", "2000", "INBOX", "msg0000"), "sh"
        )
        is None
    )
    (tmp_path / "default").mkdir()
    (tmp_path / "default" / "2000").symlink_to(
        "/etc"
    )  # a link out of the spool is not followed out
    assert (
        spool.path_of(
            tmp_path, spool.MessageFile("default", "2000", "INBOX", "msg0000"), "wav"
        )
        is None
    )


def vm(**kw) -> m.Voicemail:
    return m.Voicemail("1796371200.3", "2000@default", "INBOX", "msg0000", 100.0, **kw)


def test_one_claimer_then_outcomes_until_a_closing_one():
    v = m.claim(vm(), "1001", 200.0)
    assert (
        v.claimed_by == "1001" and m.claim(v, "1001", 300.0) is v
    )  # claiming again changes nothing
    with pytest.raises(Conflict) as e:
        m.claim(v, "1002", 201.0)
    assert e.value.code == "claimed"
    with pytest.raises(Forbidden):
        m.outcome(v, "1002", "agent", "reached", "", 202.0)
    with pytest.raises(InvalidInput):
        m.outcome(v, "1001", "agent", "later", "", 202.0)
    v = m.outcome(v, "1001", "agent", "busy", "", 203.0)
    assert v.open and len(v.attempts) == 1
    v = m.outcome(
        v, "1900", "supervisor", "wrong_number", "", 204.0
    )  # a supervisor may close it
    assert not v.open and v.outcome == "wrong_number"
    with pytest.raises(Conflict) as e:
        m.claim(v, "1002", 205.0)
    assert e.value.code == "closed"


def test_release_play_and_the_deadline():
    with pytest.raises(Conflict) as e:
        m.release(vm(), "1001", "agent")
    assert e.value.code == "not_claimed"
    v = m.claim(vm(), "1001", 200.0)
    assert (
        m.may_play(v, "1001", "agent")
        and not m.may_play(v, "1002", "agent")
        and m.may_play(v, "1900", "admin")
    )
    with pytest.raises(Forbidden):
        m.release(v, "1002", "agent")
    assert m.release(v, "1900", "supervisor").claimed_by is None
    assert not m.due(vm(), 100.0 + 3599, 3600) and m.due(vm(), 100.0 + 3600, 3600)
    assert not m.due(v, 10_000, 3600) and not m.due(vm(overdue=True), 10_000, 3600)
    with pytest.raises(InvalidInput):
        m.check_id("../etc")
