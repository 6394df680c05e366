"""A phone holds its call (re-INVITE sendonly) and resumes it, as recorded in trace 06."""

from __future__ import annotations

import structlog

from ..kernel.kernel import Kernel

log = structlog.get_logger(__name__)


async def phone_hold(kernel: Kernel, endpoint: str, held: bool = True) -> None:
    """The endpoint's phone holds (re-INVITE sendonly) or resumes (sendrecv) its bridged call.

    As trace 06: ``Hold`` (MusicClass) on the phone's channel, then ``MusicOnHoldStart``
    on the bridged party, whose device goes ONHOLD; resuming: ``Unhold``, the party's
    device back to INUSE, ``MusicOnHoldStop``. Holding twice changes nothing. Raises
    KeyError for an unknown endpoint, ValueError when it has no answered bridged call.
    """
    if endpoint not in kernel.endpoints:
        raise KeyError(f"unknown endpoint {endpoint!r}")
    chans = [c for c in kernel.by_endpoint.get(endpoint, {}).values()
             if not c.gone and c.state == 6 and c.bridge is not None]
    if not chans:
        raise ValueError(f"{endpoint} has no answered call to {'hold' if held else 'resume'}")
    for ch in chans:
        if ch.holding == held:
            continue
        ch.holding = held
        peers = [p for p in ch.bridge.channels if p is not ch] if ch.bridge else []
        log.info("pbxsim_phone_hold", endpoint=endpoint, held=held, channel=ch.name, call_id=ch.linkedid)
        if held:
            kernel.emit("Hold", ch.fields() + [("MusicClass", "default")])
            for p in peers:
                p.held = True
                kernel.emit("MusicOnHoldStart", p.fields() + [("Class", "default")])
                kernel.touch_device(p)
        else:
            kernel.emit("Unhold", ch.fields())
            for p in peers:
                p.held = False
                kernel.touch_device(p)
                kernel.emit("MusicOnHoldStop", p.fields())
