"""Today's figures do not look frozen: while the panel is visible they are fetched again on a
steady timer (with no push at all), so the growing ones (signed in, ready) move on, and "as
of" tells, to the second, when the server computed what is shown.

Before, they were fetched on pushes and once a minute, and "as of" said only HH:MM: a Ready
agent saw "Signed in 0:00 · as of 13:11" for a minute while the state clock ran.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.async_api import expect

from tests.support.browser import WAIT_MS
from tests.system.test_panel_calls import open_panel

pytestmark = pytest.mark.browser
PERIOD_S = 10  # agent_web/figures.js FIGURES_PERIOD_MS


def seconds(text: str) -> int:
    parts = [int(p) for p in text.split(":")]
    return sum(p * 60 ** i for i, p in enumerate(reversed(parts)))


async def test_figures_keep_growing_while_ready_and_as_of_is_truthful(stack: Any, browser: Any) -> None:
    page = await open_panel(browser, stack.url, "1001")
    await page.locator("#btn-signin").click()
    await expect(page.locator("#state-badge")).to_have_text("Ready", timeout=WAIT_MS)
    signed_in = page.locator('#figures-list dd[data-figure="signed_in"]')
    ready = page.locator('#figures-list dd[data-figure="ready"]')
    note = page.locator("#figures-note")
    await expect(note).to_have_text(re.compile(r"^as of \d\d:\d\d:\d\d$"), timeout=WAIT_MS)

    # No push comes while the agent sits Ready; the figures move on anyway.
    first_note = await note.text_content()
    first = seconds(await signed_in.text_content() or "0:00")
    await expect(note).not_to_have_text(first_note or "", timeout=(PERIOD_S + 5) * 1000)
    later = seconds(await signed_in.text_content() or "0:00")
    assert later > first
    assert abs(seconds(await ready.text_content() or "0:00") - later) <= 1  # all of it Ready

    # "as of" is when the server computed them (to the second), which is now, give or take the fetch.
    when = await page.evaluate("""() => {
        const at = document.getElementById('figures-note').dataset.generatedAt;
        const d = new Date(Date.parse(at));
        return { lag: Date.now() - d.getTime(),
                 label: d.toLocaleTimeString([], {hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false}) };
    }""")
    assert -2000 < when["lag"] < 3000
    await expect(note).to_have_text(f"as of {when['label']}")
    # and the figure agrees with the state clock at that moment (signed in = ready since the sign-in)
    since = seconds(await page.locator("#state-since").text_content() or "0:00")
    assert -2 <= since - later <= 4  # whole seconds on two clocks, and the fetch took a moment
    assert page.js_errors == []  # type: ignore[attr-defined]
