"""Post-call survey node: the caller rates the call 1 to ``scale`` with one key.

A menu table ``type = "survey"``::

    prompt = "beep"               # "please rate our service from 1 to 5" (your recording)
    scale = 5                     # keys 1..scale are ratings
    timeout = 6.0                 # seconds to wait for the key
    tries = 2                     # plays in all when no key or a wrong key comes
    invalid_prompt = "invalid"
    thanks_prompt = "auth-thankyou"
    next = "hangup"

The caller reaches it after an agent: the agent's "survey" button (the server Redirects the
caller to ``cti-ivr,<node>,1``: the agent's leg is released), or by itself when the agent
hangs up first (a queue node with ``after_agent = "<node>"`` and Queue option ``c``).
What happened goes to the CTI server as ``UserEvent(CtiSurvey)``: ``Outcome: started`` as the
question is asked (so a caller who hangs up is known: the server records ``hung_up`` when
the call ends without an answer), then ``rated`` with ``Rating: n``, or ``invalid`` (only
wrong keys) or ``no_key``, with the number of plays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import structlog

from ivr.menu import MenuError, _name, _number, _sound
from ivr.nodes import NodeType, register

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class SurveyNode:
    """Ask for one rating key (see the module's docstring)."""

    name: str
    prompt: str
    scale: int = 5
    timeout: float = 6.0
    tries: int = 2
    invalid_prompt: str = "invalid"
    thanks_prompt: str = "auth-thankyou"
    next: str = "hangup"
    type: str = "survey"


def parse(name: str, raw: dict[str, Any]) -> SurveyNode:
    """A checked node from its TOML table; MenuError names the setting."""
    where = f"nodes.{name}"
    if "prompt" not in raw:
        raise MenuError(f"{where}.prompt: the question's sound is required")
    return SurveyNode(
        name,
        _sound(raw["prompt"], f"{where}.prompt"),
        scale=int(_number(raw.get("scale", 5), f"{where}.scale", 2, 9)),
        timeout=_number(raw.get("timeout", 6.0), f"{where}.timeout", 0.5, 60),
        tries=int(_number(raw.get("tries", 2), f"{where}.tries", 1, 5)),
        invalid_prompt=_sound(
            raw.get("invalid_prompt", "invalid"), f"{where}.invalid_prompt", empty=True
        ),
        thanks_prompt=_sound(
            raw.get("thanks_prompt", "auth-thankyou"),
            f"{where}.thanks_prompt",
            empty=True,
        ),
        next=_name(raw.get("next", "hangup"), f"{where}.next"),
    )


def links(node: SurveyNode) -> list[tuple[str, str]]:
    return [("next", node.next)]


async def run(session: Any, node: SurveyNode) -> str | None:
    """Ask, at most ``tries`` plays; each outcome is sent to the CTI server before the next prompt."""
    await session._report()

    async def tell(outcome: str, **extra: Any) -> None:
        fields = "".join(f",{k.capitalize()}: {v}" for k, v in extra.items())
        await session._exec(
            "UserEvent", f"CtiSurvey,Node: {node.name},Outcome: {outcome}{fields}"
        )

    await tell("started", scale=node.scale)
    wrong = 0
    for play in range(1, node.tries + 1):
        digits, _ = await session.ch.get_data(node.prompt, int(node.timeout * 1000), 1)
        key = digits[:1]
        if key.isdigit() and 1 <= int(key) <= node.scale:
            log.info("ivr_survey_rated", node=node.name, rating=int(key), play=play)
            await tell("rated", rating=int(key), plays=play)
            if node.thanks_prompt:
                await session.ch.stream_file(node.thanks_prompt)
            return node.next
        if key:
            wrong += 1
            log.info("ivr_survey_invalid_key", node=node.name, key=key, play=play)
            if node.invalid_prompt and play < node.tries:
                await session.ch.stream_file(node.invalid_prompt)
        else:
            log.info("ivr_survey_no_key", node=node.name, play=play)
    outcome = "invalid" if wrong else "no_key"
    log.info("ivr_survey_unanswered", node=node.name, outcome=outcome)
    await tell(outcome, plays=node.tries)
    return node.next


register(
    NodeType(
        "survey",
        frozenset(
            {
                "prompt",
                "scale",
                "timeout",
                "tries",
                "invalid_prompt",
                "thanks_prompt",
                "next",
            }
        ),
        parse,
        links,
        run,
    )
)
