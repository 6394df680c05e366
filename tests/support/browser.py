"""Debian's Chromium, driven headless by Playwright, for the panel tests."""

from __future__ import annotations

CHROMIUM = "/usr/bin/chromium"
WAIT_MS = 15_000  # a confirmation through AMI, or a call through the IVR, takes a few seconds
