"""Websocket push: snapshot + numbered deltas, one bounded queue and writer per socket."""

from ctiserver.push.hub import ALL, CLOSE_TOO_SLOW, MESSAGE_TYPES, Audience, Connection, PushHub

__all__ = ["ALL", "CLOSE_TOO_SLOW", "MESSAGE_TYPES", "Audience", "Connection", "PushHub"]
