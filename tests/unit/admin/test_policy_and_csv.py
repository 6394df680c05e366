"""The password policy and the CSV import's checks, row by row (no database: what the file says)."""

from __future__ import annotations

from ctiserver.admin.bulk import check
from ctiserver.agents.passwords import one_time_password, password_problem

QUEUES = frozenset({"support", "sales"})


def test_the_minimum_password_policy() -> None:
    assert "at least" in password_problem("Short-1", "2001")
    assert "login" in password_problem("zhao2001-password", "2001")
    assert "login" in password_problem("my-ZHAOLIU-pass", "zhaoliu")
    assert "common" in password_problem("Password123", "2001")
    assert "common" in password_problem("aaaaaaaaaaaa", "2001")
    assert password_problem("Quiet-harbour-41", "2001") is None
    assert all(password_problem(one_time_password(), "root") is None for _ in range(20))


def test_each_bad_row_is_reported_with_its_line_and_field() -> None:
    raw = (
        b"login,name,role,department,interface,queues,password\n"
        b"3001,A,agent,,PJSIP/3001,support:1,Good-pass-Alpha\n"
        b"3002,B,agent,,PJSIP/3002,nowhere:0,Good-pass-Beta\n"
        b"3003,C,handler,,,,Good-pass-Gamma\n"
        b"3004,D,agent,,PJSIP/3004,support:500,Good-pass-Delta\n"
        b"3005,E,agent,,PJSIP/9999,,Good-pass-Omega\n"
        b"bad login,F,agent,,,,Good-pass-Sigma\n"
        b'"3007","G\r\nH",agent,,,,Good-pass-Kappa\n'
    )
    rows, problems = check(
        raw, QUEUES, taken_logins={"1001"}, taken_interfaces={"PJSIP/9999"}
    )
    assert [r["login"] for r in rows] == ["3001"]
    assert [(p["line"], p["field"]) for p in problems] == [
        (3, "queues"),
        (4, "department"),
        (5, "queues.support"),
        (6, "interface"),
        (7, "login"),
        (8, "name"),
    ]


def test_a_row_without_password_gets_a_one_time_one() -> None:
    rows, problems = check(b"login,name,role\n4001,A,agent\n", QUEUES, set(), set())
    assert (
        problems == [] and rows[0]["shown"] and rows[0]["password"] == rows[0]["shown"]
    )
