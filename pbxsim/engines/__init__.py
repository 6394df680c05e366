"""Engines: the dialplan and its applications, queues, Dial, FastAGI, scripted callers (on the kernel)."""
