"""What is really going on in the simulator (``sim.truth()``; the shape is in pbxsim/README.md)."""

from __future__ import annotations

from ..kernel.kernel import Kernel
from .queues import QueueEngine


def interface_truth(kernel: Kernel, queues: QueueEngine, interface: str) -> dict:
    """What ``interface`` (a queue member, e.g. ``PJSIP/1001``) is really doing."""
    members = queues.memberships(interface)
    endpoint = interface.split("/", 1)[1] if interface.startswith("PJSIP/") else ""
    live = [c for c in kernel.by_endpoint.get(endpoint, {}).values() if not c.gone] if endpoint else []
    paused = [m for m in members if m.paused]
    wrap = [t for t in (queues.wrapup_until(m) for m in members) if t is not None]
    return {
        "queues": {m.queue: {"penalty": m.penalty, "paused": m.paused, "reason": m.reason, "status": m.status,
                             "in_call": m.in_call, "ringing": m.ringing, "calls_taken": m.calls}
                   for m in members},
        "paused": bool(members) and len(paused) == len(members),
        "reason": paused[0].reason if paused else "",
        "device": kernel.devices.get(members[0].state_interface if members else interface),
        "ringing": any(c.state == 5 for c in live),
        "in_call": any(c.state == 6 for c in live),
        "in_queue_call": any(m.in_call for m in members),
        "on_hold": any(c.holding for c in live),
        "wrapup_until": max(wrap) if wrap else None,
        "channels": sorted(c.name for c in live),
    }


def truth(kernel: Kernel, queues: QueueEngine) -> dict:
    """Time, queue members and interfaces, channels, waiting callers, then what features add."""
    interfaces = sorted({m.interface for qs in queues.queues.values() for m in qs.members.values()})
    out = {
        "time": kernel.clock.now(),
        "interfaces": {i: interface_truth(kernel, queues, i) for i in interfaces},
        "members": [
            {"queue": q, "interface": m.interface, "name": m.name, "paused": m.paused,
             "reason": m.reason, "status": m.status, "calls_taken": m.calls, "penalty": m.penalty,
             "in_call": m.in_call}
            for q, qs in queues.queues.items() for m in qs.members.values()],
        "channels": [
            {"channel": c.name, "uniqueid": c.uniqueid, "linkedid": c.linkedid, "state": c.state,
             "caller": c.cid_num, "bridge": c.bridge.uniqueid if c.bridge else "", "holding": c.holding}
            for c in kernel.channels.values()],
        "waiting": {q: [e.channel.name for e in qs.entries] for q, qs in queues.queues.items()},
    }
    for part in kernel.hooks.truth:
        out.update(part())
    return out
