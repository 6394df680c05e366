"""Asterisk's own AMI actions on the simulator's channels, bridges and devices (main/manager.c)."""

from __future__ import annotations

import time

from ..channel import EXT_STATUS
from ..kernel.actions import ActionError, Reply, Request, list_reply
from ..kernel.hooks import OriginateRequest
from ..kernel.kernel import Kernel

MAX_PUBLIC_UNIQUEID = 149  # include/asterisk/channel.h AST_MAX_PUBLIC_UNIQUEID (Originate ChannelId)


def _duration(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


class CoreActions:
    """Ping, Status, CoreShowChannels, BridgeList, ExtensionStateList, DeviceStateList, CoreSettings,
    CoreStatus, Hangup, Setvar and Originate (by channel technology: the kernel's originators)."""

    def __init__(self, kernel: Kernel):
        self.kernel = kernel

    def action_ping(self, req: Request) -> Reply:
        msg, aid = req.msg, req.aid
        return [[("Response", "Success")] + aid + [("Ping", "Pong"), ("Timestamp", f"{self.kernel.clock.now():.6f}")]]

    def action_coreshowchannels(self, req: Request) -> Reply:
        msg, aid = req.msg, req.aid
        now = self.kernel.clock.now()
        items = []
        for ch in sorted(self.kernel.channels.values(), key=lambda c: c.name):
            items.append([("Event", "CoreShowChannel")] + aid + ch.fields() + [
                ("Application", ch.app), ("ApplicationData", ch.appdata), ("Duration", _duration(now - ch.created)),
                ("BridgeId", ch.bridge.uniqueid if ch.bridge else "")])
        return ([[("Response", "Success")] + aid + [("EventList", "start"), ("Message", "Channels will follow")]]
                + items + [[("Event", "CoreShowChannelsComplete")] + aid + [("EventList", "Complete"),
                                                                           ("ListItems", str(len(items)))]])

    def action_status(self, req: Request) -> Reply:
        msg, aid = req.msg, req.aid
        now = self.kernel.clock.now()
        wanted = msg.get("channel")
        chans = sorted(self.kernel.channels.values(), key=lambda c: c.name)
        if wanted:
            chans = [c for c in chans if c.name == wanted]
            if not chans:
                raise ActionError("No such channel")
        items = []
        for ch in chans:
            items.append([("Event", "Status"), ("Privilege", "Call")] + ch.fields() + [
                ("Type", "PJSIP"), ("DNID", ch.dnid), ("EffectiveConnectedLineNum", ch.conn_num),
                ("EffectiveConnectedLineName", ch.conn_name), ("TimeToHangup", "0"),
                ("BridgeID", ch.bridge.uniqueid if ch.bridge else ""), ("Application", ch.app), ("Data", ch.appdata),
                ("Nativeformats", "(ulaw)"), ("Readformat", "ulaw"), ("Readtrans", ""), ("Writeformat", "ulaw"),
                ("Writetrans", ""), ("Callgroup", "0"), ("Pickupgroup", "0"),
                ("Seconds", str(int(now - ch.created)))] + aid)
        return ([[("Response", "Success")] + aid + [("EventList", "start"), ("Message", "Channel status will follow")]]
                + items + [[("Event", "StatusComplete")] + aid + [("EventList", "Complete"),
                                                                 ("ListItems", str(len(items)))]])

    def action_bridgelist(self, req: Request) -> Reply:
        msg, aid = req.msg, req.aid
        items = [[("Event", "BridgeListItem")] + aid + b.fields() for b in self.kernel.bridges.values()]
        return list_reply(aid, "Bridge listing will follow", "BridgeListComplete", items)

    def action_extensionstatelist(self, req: Request) -> Reply:
        msg, aid = req.msg, req.aid
        items = []
        for (ctx, exten), dev in sorted(self.kernel.devices.hints.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            code, text = EXT_STATUS.get(self.kernel.devices.get(dev), (4, "Unavailable"))
            items.append([("Event", "ExtensionStatus")] + aid + [("Exten", exten), ("Context", ctx), ("Hint", dev),
                                                                 ("Status", str(code)), ("StatusText", text)])
        return list_reply(aid, "Extension Statuses will follow", "ExtensionStateListComplete", items)

    def action_devicestatelist(self, req: Request) -> Reply:
        msg, aid = req.msg, req.aid
        items = [[("Event", "DeviceStateChange")] + aid + [("Device", dev), ("State", state)]
                 for dev, state in self.kernel.devices.states.items()]
        return list_reply(aid, "Device State Changes will follow", "DeviceStateListComplete", items)

    def action_coresettings(self, req: Request) -> Reply:
        msg, aid = req.msg, req.aid
        return [[("Response", "Success")] + aid + [
            ("AMIversion", "11.0.0"), ("AsteriskVersion", "22.10.1"), ("SystemName", ""), ("CoreMaxCalls", "0"),
            ("CoreMaxLoadAvg", "0.000000"), ("CoreRunUser", "pbxsim"), ("CoreRunGroup", "pbxsim"),
            ("CoreMaxFilehandles", "0"), ("CoreRealTimeEnabled", "No"), ("CoreCDRenabled", "Yes"),
            ("CoreHTTPenabled", "No"), ("SoundsSearchCustomDir", "No")]]

    def action_corestatus(self, req: Request) -> Reply:
        msg, aid = req.msg, req.aid
        started = time.gmtime(self.kernel.started)
        return [[("Response", "Success")] + aid + [
            ("CoreStartupDate", time.strftime("%Y-%m-%d", started)), ("CoreStartupTime", time.strftime("%H:%M:%S", started)),
            ("CoreReloadDate", time.strftime("%Y-%m-%d", started)), ("CoreReloadTime", time.strftime("%H:%M:%S", started)),
            ("CoreCurrentCalls", str(len({c.linkedid for c in self.kernel.channels.values()}))),
            ("CoreProcessedCalls", str(self.kernel.calls_processed))]]

    def action_hangup(self, req: Request) -> Reply:
        msg, aid = req.msg, req.aid
        name = msg.get("channel")
        if not name:
            raise ActionError("No channel specified")
        ch = self.kernel.find_channel(name)
        if ch is None:
            raise ActionError("No such channel")
        cause = msg.get("cause") or "16"
        ch.hangup_by_ami = True
        ch.request_hangup(int(cause) if cause.isdigit() else 16)
        return [[("Response", "Success")] + aid + [("Message", "Channel Hungup")]]

    def action_setvar(self, req: Request) -> Reply:
        """Setvar on a channel (main/manager.c action_setvar; write class call). Globals are not offered."""
        msg, aid = req.msg, req.aid
        name = msg.get("channel")
        variable = msg.get("variable")
        if not variable:
            raise ActionError("No variable specified")
        if not name:
            raise ActionError("Only channel variables are modelled")
        ch = self.kernel.find_channel(name)
        if ch is None:
            raise ActionError("No such channel")  # as Asterisk 22.10.1 answers
        self.kernel.set_var(ch, variable, msg.get("value") or "")
        return [[("Response", "Success")] + aid + [("Message", "Variable Set")]]

    def action_originate(self, req: Request) -> Reply:
        msg, aid = req.msg, req.aid
        channel = msg.get("channel", "")
        for key in ("channelid", "otherchannelid"):  # main/manager.c checks this first
            if len(msg.get(key) or "") > MAX_PUBLIC_UNIQUEID:
                raise ActionError(f"Uniqueid length exceeds maximum of {MAX_PUBLIC_UNIQUEID}")
        if not channel:
            raise ActionError("Channel not specified")
        tech, _, endpoint = channel.partition("/")
        originate = self.kernel.hooks.originators.get(tech.lower()) if endpoint else None
        if originate is None:  # PJSIP/<endpoint> (engines/dial.py) or Local/<exten>@<context> (features/local.py)
            raise ActionError("Invalid channel")
        priority, timeout, num, name, variables = self._originate_args(req)
        self.kernel.spawn(originate(OriginateRequest(
            channel, msg["context"], msg["exten"], priority, num, name, timeout, msg.get("account", ""), variables,
            msg.get("channelid") or None, msg.get("otherchannelid") or None, msg.get("actionid"))))
        return [[("Response", "Success")] + aid + [("Message", "Originate successfully queued")]]

    def _originate_args(self, req: Request) -> tuple[int, float, str, str, dict[str, str]]:
        """Priority, timeout (s), caller id number and name, and Variable= pairs of an Originate."""
        msg = req.msg
        if msg.get("application"):
            raise ActionError("Application originate is not simulated; use Context/Exten/Priority")
        if not msg.get("exten") or not msg.get("context"):
            raise ActionError("Exten and Context not specified")
        try:
            priority = int(msg.get("priority") or 1)
            timeout = int(msg.get("timeout") or 30000) / 1000
        except ValueError:
            raise ActionError("Invalid priority or timeout") from None
        cid = msg.get("callerid", "")
        name, num = "", cid.strip()
        if "<" in cid and cid.endswith(">"):
            name, num = cid[:cid.index("<")].strip().strip('"'), cid[cid.index("<") + 1:-1].strip()
        variables = {}
        for key, value in req.fields:
            if key.lower() == "variable":
                for pair in value.split(","):
                    k, sep, v = pair.partition("=")
                    if sep and k.strip():
                        variables[k.strip()] = v
        return priority, timeout, num, name, variables
