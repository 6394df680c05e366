"""Customer PIN hashes: cheap scrypt in the agents' format, older (dearer) hashes still verify."""

from __future__ import annotations

from ctiserver.agents import passwords
from ctiserver.customers import pins


def _cost(stored: str) -> int:
    _, n, r, p, _salt, _digest = stored.split("$")
    return int(n) * int(r) * int(p)


def test_a_pin_hash_is_salted_scrypt_and_verifies_only_the_right_pin() -> None:
    stored = pins.hash_pin("123456")
    assert stored.startswith("scrypt$") and "123456" not in stored
    assert stored != pins.hash_pin("123456")  # salted
    assert pins.verify_pin("123456", stored)
    assert not pins.verify_pin("123457", stored)
    assert not pins.verify_pin("", stored)
    assert not pins.needs_rehash(stored)


def test_pins_cost_a_small_fraction_of_an_agent_password() -> None:
    # the memory x iterations scrypt spends, a property of the parameters rather than of the clock
    assert _cost(pins.hash_pin("1234")) * 16 <= _cost(passwords.hash_password("1234"))


def test_a_pin_hashed_at_the_old_password_cost_verifies_and_asks_for_a_rehash() -> None:
    old = passwords.hash_password("1234")
    assert pins.verify_pin("1234", old) and not pins.verify_pin("4321", old)
    assert pins.needs_rehash(old)
    ok, new = pins.check_and_upgrade("1234", old)
    assert (
        ok
        and new is not None
        and not pins.needs_rehash(new)
        and pins.verify_pin("1234", new)
    )
    # a wrong PIN never produces a new hash; a current one needs none
    assert pins.check_and_upgrade("4321", old) == (False, None)
    assert pins.check_and_upgrade("1234", new) == (True, None)


def test_malformed_or_too_dear_hashes_are_refused_not_run() -> None:
    good = pins.hash_pin("1234")
    _, _n, r, p, salt, digest = good.split("$")
    for stored in (
        "",
        "plain1234",
        "bcrypt$1$2$3$4$5",
        f"scrypt$x${r}${p}${salt}${digest}",
        f"scrypt${2**20}${r}${p}${salt}${digest}",  # 1 GiB and seconds of CPU per check
        f"scrypt$512${r}${p}$!!!${digest}",
        f"scrypt$512${r}${p}${salt}$",
    ):
        assert not pins.verify_pin("1234", stored), stored
        assert pins.check_and_upgrade("1234", stored) == (False, None)
    assert not pins.needs_rehash("nonsense")
