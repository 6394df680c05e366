"""Device states (DeviceStateChange) and the extension hints that follow them (ExtensionStatus)."""

from __future__ import annotations

from typing import Callable

from ..channel import EXT_STATUS, Fields


class DeviceRegistry:
    """Device states with change-only DeviceStateChange, and hint ExtensionStatus."""

    def __init__(self, emit: Callable[[str, Fields], None], hints: dict[tuple[str, str], str]):
        self._emit = emit
        self.states: dict[str, str] = {}
        self.hints = hints  # (context, exten) -> device
        self.listeners: list[Callable[[str, str], None]] = []

    def seed(self, device: str, state: str) -> None:
        """Set a state silently (what Asterisk knows at boot)."""
        self.states[device] = state

    def set(self, device: str, state: str) -> None:
        """Set a device state, emitting DeviceStateChange and ExtensionStatus only on change."""
        old = self.states.get(device)
        if old == state:
            return
        self.states[device] = state
        for (ctx, exten), dev in self.hints.items():
            if dev == device:
                code, text = EXT_STATUS.get(state, (4, "Unavailable"))
                self._emit("ExtensionStatus", [("Exten", exten), ("Context", ctx), ("Hint", dev),
                                               ("Status", str(code)), ("StatusText", text)])
        self._emit("DeviceStateChange", [("Device", device), ("State", state)])
        for cb in list(self.listeners):
            cb(device, state)

    def get(self, device: str) -> str:
        """Current state of ``device`` (UNKNOWN if never set)."""
        return self.states.get(device, "UNKNOWN")
