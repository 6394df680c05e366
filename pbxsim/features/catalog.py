"""Issue 4 simulator features: AMI actions and dialplan applications for consult transfer
(Atxfer), ConfBridge, MixMonitor, ChanSpy and Local channels (traces 08 B, 10, 13, 09, 14).

``FeatureActions`` is mixed into the AMI server (``action_<name>`` methods, like
pbxsim/control.py); ``FEATURE_APPS`` is merged into the dialplan applications.
"""

from __future__ import annotations


from . import atxfer, chanspy, confbridge, mixmonitor
from ..confparse import conf_sections
from ..ami.control import ActionError, bool_value

# the write classes each action is registered with in Asterisk 22 (app_mixmonitor.c,
# app_confbridge.c, manager.c): a user needs one of them (manager.conf ``write =``)
ACTION_CLASSES = {
    "mixmonitor": {"system"}, "mixmonitormute": {"system", "call"}, "stopmixmonitor": {"system", "call"},
    "atxfer": {"call"}, "confbridgelist": {"reporting"}, "confbridgelistrooms": {"reporting"},
    "confbridgekick": {"call"}, "confbridgemute": {"call"}, "confbridgeunmute": {"call"},
}


def write_classes(sim, username: str) -> set[str] | None:
    """The ``write =`` classes of ``username`` in the config dir's manager.conf (None: no such file/user)."""
    if username == "general" or username not in (sections := conf_sections(sim, "manager.conf")):
        return None
    return {c.strip().lower() for k, v in sections[username] if k == "write" for c in v.split(",") if c.strip()}


class FeatureActions:
    """Mixed into the AMI server; ``self.sim`` is the simulator."""

    def _permitted(self, action: str) -> None:
        """Asterisk's ``Permission denied`` when the session's user lacks the action's class."""
        user = getattr(getattr(self, "current", None), "username", "")
        classes = write_classes(self.sim, user)
        if classes is not None and "all" not in classes and not classes & ACTION_CLASSES[action]:
            raise ActionError("Permission denied")

    def _channel(self, msg, missing: str = "No channel specified", unknown: str = "No such channel"):
        name = msg.get("channel", "")
        if not name:
            raise ActionError(missing)
        ch = self.sim.find_channel(name)
        if ch is None or ch.gone:
            raise ActionError(unknown)
        return ch

    # --- MixMonitor (trace 13) ------------------------------------------------
    def action_mixmonitor(self, msg, aid):
        self._permitted("mixmonitor")
        ch = self._channel(msg)
        try:
            mixmonitor.start(self.sim, ch, msg.get("file", ""), msg.get("options", ""))
        except mixmonitor.MixMonitorError as exc:
            raise ActionError(str(exc)) from None
        return [[("Response", "Success")] + aid]

    def action_mixmonitormute(self, msg, aid):
        self._permitted("mixmonitormute")
        ch = self._channel(msg)
        try:
            mixmonitor.mute(self.sim, ch, msg.get("direction", "both"), bool_value(msg.get("state")))
        except mixmonitor.MixMonitorError as exc:
            raise ActionError(str(exc)) from None
        return [[("Response", "Success")] + aid]

    def action_stopmixmonitor(self, msg, aid):
        self._permitted("stopmixmonitor")
        ch = self._channel(msg)
        try:
            mixmonitor.stop(self.sim, ch)
        except mixmonitor.MixMonitorError as exc:
            raise ActionError(str(exc)) from None
        return [[("Response", "Success")] + aid]

    # --- Atxfer (trace 08 B) --------------------------------------------------
    def action_atxfer(self, msg, aid):
        self._permitted("atxfer")
        try:
            atxfer.start(self.sim, msg.get("channel", ""), msg.get("context", ""), msg.get("exten", ""))
        except atxfer.AtxferError as exc:
            raise ActionError(str(exc)) from None
        return [[("Response", "Success")] + aid + [("Message", "Atxfer successfully queued")]]

    # --- ConfBridge (trace 10) ------------------------------------------------
    def action_confbridgelist(self, msg, aid):
        self._permitted("confbridgelist")
        try:
            items = confbridge.list_members(self.sim, msg.get("conference", ""), aid)
        except confbridge.ConfBridgeError as exc:
            raise ActionError(str(exc)) from None
        return self._list(aid, "Confbridge user list will follow", "ConfbridgeListComplete", items)

    def action_confbridgelistrooms(self, msg, aid):
        self._permitted("confbridgelistrooms")
        try:
            items = confbridge.list_rooms(self.sim, aid)
        except confbridge.ConfBridgeError as exc:
            raise ActionError(str(exc)) from None
        return self._list(aid, "Confbridge conferences will follow", "ConfbridgeListRoomsComplete", items)

    def action_confbridgekick(self, msg, aid):
        self._permitted("confbridgekick")
        try:
            text = confbridge.kick(self.sim, msg.get("conference", ""), msg.get("channel", ""))
        except confbridge.ConfBridgeError as exc:
            raise ActionError(str(exc)) from None
        return [[("Response", "Success")] + aid + [("Message", text)]]

    def action_confbridgemute(self, msg, aid):
        return self._mute(msg, aid, True)

    def action_confbridgeunmute(self, msg, aid):
        return self._mute(msg, aid, False)

    def _mute(self, msg, aid, muted: bool):
        self._permitted("confbridgemute" if muted else "confbridgeunmute")
        try:
            text = confbridge.mute(self.sim, msg.get("conference", ""), msg.get("channel", ""), muted)
        except confbridge.ConfBridgeError as exc:
            raise ActionError(str(exc)) from None
        return [[("Response", "Success")] + aid + [("Message", text)]]


FEATURE_APPS = {
    "mixmonitor": mixmonitor.app_mixmonitor,
    "stopmixmonitor": mixmonitor.app_stopmixmonitor,
    "confbridge": confbridge.app_confbridge,
    "chanspy": chanspy.app_chanspy,
}


def truth(sim) -> dict:
    """The issue-4 part of ``sim.truth()`` (shape in pbxsim/README.md)."""
    return {
        "recordings": [r.as_dict() for r in mixmonitor.recordings(sim)],
        "conferences": {name: [m.channel.name for m in c.members] for name, c in confbridge.conferences(sim).items()},
        "spies": chanspy.spies(sim),
    }
