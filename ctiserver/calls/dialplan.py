"""The dialplan contexts the server sends channels to, as ``asterisk_conf/extensions.conf`` names them.

One module mirrors the file: a context renamed there is renamed here, and nowhere else.
"""

from __future__ import annotations

HOLD = "hold"  # music on hold for the customer (hold,s,1): the server's hold
AGENT_WAIT = "agent-wait"  # the agent's leg waits here while the customer is on hold
CONFERENCE = "cti-conference"  # ConfBridge(${EXTEN},cti_bridge,cti_user): the server's conference rooms
TRANSFER = "cti-transfer"  # Dial(PJSIP/<ext>,20); unanswered -> cti-queue,${CTI_FALLBACK_QUEUE}
QUEUE = "cti-queue"  # Queue(<queue>,t,,,45), then voicemail when nobody can take the caller
OUTBOUND = "cti-outbound"  # Dial(PJSIP/<number>@outside,30): dial out, transfer out, conference an outsider
IVR = "cti-ivr"  # AGI(agi://…/hotline?node=<node>): back to the IVR at a node
AGENTS = "agents"  # Dial(PJSIP/<ext>,20) then Hangup: a consulted colleague (an unanswered consult ends)
CONSULT_OUTSIDE = "cti-consult-out"  # _[0-9*]. -> cti-outbound: collects every digit Atxfer keys in
