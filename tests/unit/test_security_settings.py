"""Which configurations are production, and which secrets count as the demo's."""

from __future__ import annotations

import hashlib

import pytest

from ctiserver import config as config_mod
from ctiserver import security


def cfg(**overrides: object) -> config_mod.Config:
    return config_mod.load(env={}, overrides=overrides)


@pytest.mark.parametrize(
    "overrides,expected",
    [
        ({}, False),
        ({"ami.host": "10.0.0.5"}, True),
        ({"ami.host": "10.0.0.5", "server.mode": "lab"}, False),
        ({"ami.host": "10.0.0.5", "server.mode": "demo"}, False),
        ({"server.mode": "production"}, True),
    ],
)
def test_production_is_a_real_asterisk_unless_said_otherwise(
    overrides: dict, expected: bool
) -> None:
    assert security.production(cfg(**overrides)) is expected


def test_an_unknown_mode_is_a_configuration_error() -> None:
    with pytest.raises(config_mod.ConfigError, match="server.mode"):
        cfg(**{"server.mode": "prod"})


def test_a_certificate_without_its_key_is_a_configuration_error() -> None:
    with pytest.raises(config_mod.ConfigError, match="http.tls_key"):
        cfg(**{"http.tls_cert": "/etc/ssl/site.pem"})


@pytest.mark.parametrize(
    "dsn,demo",
    [
        ("postgresql://cti:cti@db:5432/cti", True),
        ("postgresql://cti:Postgres@db/cti", True),
        ("postgresql://cti:Str0ng%3Apass@db/cti", False),
        (
            "postgresql://cti@db/cti",
            False,
        ),  # no password in the DSN: PGPASSWORD, .pgpass or peer auth
        ("host=db user=cti password=cti dbname=cti", True),
        ("host=db user=cti password='n0t-the-demo' dbname=cti", False),
    ],
)
def test_the_database_password_is_read_from_either_dsn_form(
    dsn: str, demo: bool
) -> None:
    site = {"ami.secret": "site-ami", "http.session_secret": "s" * 32, "db.dsn": dsn}
    found = security.demo_values(cfg(**site))
    assert bool(found) is demo, found


def test_sip_accounts_with_a_demo_or_username_secret_are_named() -> None:
    def md5(user: str, password: str, realm: str = "asterisk") -> str:
        return hashlib.md5(f"{user}:{realm}:{password}".encode()).hexdigest()

    rows = [
        ("1001", "1001", "1001", "", None),  # the secret is the username
        (
            "1002",
            "1002",
            "",
            md5("1002", "secret"),
            "asterisk",
        ),  # a demo secret, as Asterisk's digest hash
        ("1003", "1003", "", md5("1003", "kq83-vz1P-0xw2"), "asterisk"),
        ("1004", "1004", "kq83-vz1P-0xw2", "", None),
        ("1005", "1005", "", "", None),  # no secret at all
        (
            "1006",
            "1006",
            "",
            md5("1006", "1006", "site.example"),
            "site.example",
        ),  # another realm
        ("1007", "1007", "", md5("1007", "1007"), None),  # no realm: Asterisk's default
    ]
    assert security.demo_sip_accounts(rows) == ["1001", "1002", "1005", "1006", "1007"]
