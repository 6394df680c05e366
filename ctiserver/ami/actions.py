"""Builders of the AMI actions the server sends: one place spells each action's fields.

Every value is still checked by ``validate.validate_action`` when it is sent (CR/LF refused).
"""

from __future__ import annotations

from typing import Any

Action = dict[str, Any]


def redirect(channel: str, context: str, exten: str, *, extra: tuple[str, str, str] | None = None) -> Action:
    """Move ``channel`` to ``context,exten,1``; ``extra`` = (channel, context, exten) moves a second one with it."""
    action: Action = {"Action": "Redirect", "Channel": channel, "Context": context, "Exten": exten, "Priority": 1}
    if extra is not None:
        action.update(ExtraChannel=extra[0], ExtraContext=extra[1], ExtraExten=extra[2], ExtraPriority=1)
    return action


def hangup(channel: str, cause: int | None = 16) -> Action:
    return {"Action": "Hangup", "Channel": channel, **({"Cause": cause} if cause is not None else {})}


def bridge(channel1: str, channel2: str) -> Action:
    return {"Action": "Bridge", "Channel1": channel1, "Channel2": channel2, "Tone": "no"}


def setvar(channel: str, variable: str, value: str) -> Action:
    return {"Action": "Setvar", "Channel": channel, "Variable": variable, "Value": value}


def atxfer(channel: str, context: str, exten: str) -> Action:
    return {"Action": "Atxfer", "Channel": channel, "Context": context, "Exten": exten}


def originate(channel: str, context: str, exten: str, *, channel_id: str, timeout_ms: int,
              caller_id: str = "", variables: str = "") -> Action:
    """An asynchronous Originate whose channels carry ``channel_id`` as their Uniqueid/Linkedid."""
    action: Action = {"Action": "Originate", "Channel": channel, "Context": context, "Exten": exten, "Priority": 1,
                      "Timeout": timeout_ms, "Async": "true", "ChannelId": channel_id}
    if caller_id:
        action["CallerID"] = caller_id
    if variables:
        action["Variable"] = variables
    return action


def confbridge_kick(room: str, channel: str = "all") -> Action:
    return {"Action": "ConfbridgeKick", "Conference": room, "Channel": channel}


def queue_add(queue: str, interface: str, name: str, penalty: int, *, paused: bool, reason: str = "") -> Action:
    """Sign ``interface`` in to ``queue``. Asterisk takes the pause reason with QueueAdd (QueueMemberAdded
    carries it): one event, so the panel never shows 'busy' without its reason."""
    return {"Action": "QueueAdd", "Queue": queue, "Interface": interface, "MemberName": name,
            "StateInterface": interface, "Penalty": str(penalty), "Paused": "true" if paused else "false",
            **({"Reason": reason} if paused and reason else {})}


def queue_pause(interface: str, paused: bool, reason: str = "") -> Action:
    """Pause or unpause ``interface`` in every queue (no ``Queue`` field)."""
    return {"Action": "QueuePause", "Interface": interface, "Paused": "true" if paused else "false",
            **({"Reason": reason} if paused and reason else {})}


def queue_remove(queue: str, interface: str) -> Action:
    return {"Action": "QueueRemove", "Queue": queue, "Interface": interface}
